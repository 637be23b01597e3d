// CPU twins of the device-side step checks (kernels/finite.h).
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

void mark_bad_rows(const Context& /*ctx*/, int64_t n, const int32_t* first_bad_rows,
                   int32_t* flag) {
  for (int64_t i = 0; i < n; ++i)
    if (first_bad_rows[i] >= 0) *flag = 1;
}

}  // namespace cudp::cpu
