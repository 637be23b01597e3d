// See poison.h.
#include "tests/common/poison.h"

#include <cmath>
#include <limits>

#include "runtime/rng.h"

namespace cudp::test {

std::vector<float> random_floats(int64_t n, uint64_t seed, float low, float high) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(low, high);
  return v;
}

std::vector<float> random_small_ints(int64_t n, uint64_t seed, int range) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.below(2 * range + 1) - range);
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::vector<float> nan_filled(int64_t n) {
  return std::vector<float>(static_cast<size_t>(n), std::numeric_limits<float>::quiet_NaN());
}

}  // namespace cudp::test
