// Level-1 ops over flat buffers, for gradient reductions and loss weighting.
//   axpy:  y = y + alpha * x        (n elements)
//   scale: x = alpha * x
//   scale_by: x = (*alpha) * x, alpha read from the device's memory when the op runs (not when
//             it is queued): the form a captured CUDA graph can replay with a new factor
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

CUDP_DECLARE_OP(axpy, int64_t n, float alpha, const float* x, float* y)
CUDP_DECLARE_OP(scale, int64_t n, float alpha, float* x)
CUDP_DECLARE_OP(scale_by, int64_t n, const float* alpha, float* x)

inline void axpy(const Context& ctx, int64_t n, float alpha, const float* x, float* y) {
  CUDP_DISPATCH(ctx, axpy, n, alpha, x, y);
}
inline void scale(const Context& ctx, int64_t n, float alpha, float* x) {
  CUDP_DISPATCH(ctx, scale, n, alpha, x);
}
inline void scale_by(const Context& ctx, int64_t n, const float* alpha, float* x) {
  CUDP_DISPATCH(ctx, scale_by, n, alpha, x);
}

}  // namespace cudp
