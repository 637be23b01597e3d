// Rng: xoshiro256** seeded through splitmix64 (see rng.h).
//
// Every draw is defined bit for bit here, never by the standard library, so a
// seed gives the same weights on every platform, compiler and backend.
// uniform() draws 24 bits (a float's mantissa) and computes in double; the
// cast back to float can round up to `high`, which is then stepped one ulp down
// so that the result really is in [low, high).
#include "runtime/rng.h"

#include <cmath>

#include "runtime/error.h"

namespace cudp {
namespace {

constexpr double kPi = 3.14159265358979323846;

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t splitmix64(uint64_t& x) {
  x += 0x9e3779b97f4a7c15ULL;
  uint64_t z = x;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);  // never all zero: splitmix64 is a bijection
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float Rng::uniform(float low, float high) {
  const double u = static_cast<double>(next_u64() >> 40) * 0x1.0p-24;
  const float value = static_cast<float>(low + (static_cast<double>(high) - low) * u);
  if (value >= high && high > low) return std::nextafter(high, low);
  return value;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // 1 - u is in (0, 1]: the log never sees 0.
  const double u1 = 1.0 - uniform01();
  const double u2 = uniform01();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * kPi * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

int64_t Rng::below(int64_t n) {
  if (n <= 0) fail("Rng::below: expected a positive bound, found ", n);
  const uint64_t bound = static_cast<uint64_t>(n);
  // 2^64 mod n: draws below it would make the low residues more likely.
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t x = next_u64();
    if (x >= threshold) return static_cast<int64_t>(x % bound);
  }
}

Rng::State Rng::state() const {
  State state{};
  for (int i = 0; i < 4; ++i) state.s[i] = s_[i];
  state.has_spare = has_spare_;
  state.spare = spare_;
  return state;
}

void Rng::set_state(const State& state) {
  if ((state.s[0] | state.s[1] | state.s[2] | state.s[3]) == 0)
    fail("Rng::set_state: the all-zero state is not a valid xoshiro256** state");
  for (int i = 0; i < 4; ++i) s_[i] = state.s[i];
  has_spare_ = state.has_spare;
  spare_ = state.spare;
}

}  // namespace cudp
