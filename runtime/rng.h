// Seeded random numbers that are the same on every platform and compiler.
//
// std::uniform_real_distribution and std::normal_distribution are
// implementation-defined, so cudp draws its own: xoshiro256** seeded through
// splitmix64, uniform floats from the top 24 bits, normals by Box-Muller in double.
#pragma once

#include <cstdint>

namespace cudp {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  double uniform01();                    // [0, 1), 53 bits
  float uniform(float low, float high);  // [low, high)
  double normal();                       // N(0, 1)
  int64_t below(int64_t n);              // uniform in [0, n), n > 0, unbiased

  // The full generator state, for checkpoints.
  struct State {
    uint64_t s[4];
    bool has_spare;
    double spare;
  };
  State state() const;
  void set_state(const State& state);

 private:
  uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace cudp
