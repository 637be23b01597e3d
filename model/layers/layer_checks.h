// Helpers shared by the layer files (private to model/layers/).
//
// Every layer error starts with "<name> (<Type>): " so that a message read
// without its context still says which layer of which kind refused what.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "runtime/rng.h"
#include "runtime/shape.h"

namespace cudp::layers {

inline std::string where(const std::string& name, const char* type) {
  return concat(name, " (", type, ")");
}

inline void require_positive(const std::string& where, const char* what, int64_t value) {
  if (value <= 0) fail(where, ": ", what, " must be positive, found ", value);
}

// PyTorch's default init of Conv2d/Linear: kaiming_uniform(a=sqrt(5)) gives a
// weight bound of 1/sqrt(fan_in), and the bias uses the same bound.
inline void fill_uniform_fan_in(Rng& rng, int64_t fan_in, int64_t count, float* out) {
  const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in)));
  for (int64_t i = 0; i < count; ++i) out[i] = rng.uniform(-bound, bound);
}

}  // namespace cudp::layers
