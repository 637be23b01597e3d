// CPU twin of the device divergence check (kernels/finite.h).
#include <cmath>

#include "kernels/finite.h"

namespace cudp::cpu {

void mark_not_finite(const Context& /*ctx*/, int64_t n, const float* values, const float* weight,
                     int32_t* flag) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = weight ? values[i] * *weight : values[i];
    if (!std::isfinite(v)) *flag = 1;
  }
}

}  // namespace cudp::cpu
