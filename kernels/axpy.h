// Level-1 ops over flat buffers, for gradient reductions and loss weighting.
//   axpy:  y = y + alpha * x        (n elements)
//   scale: x = alpha * x
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

CUDP_DECLARE_OP(axpy, int64_t n, float alpha, const float* x, float* y)
CUDP_DECLARE_OP(scale, int64_t n, float alpha, float* x)

inline void axpy(const Context& ctx, int64_t n, float alpha, const float* x, float* y) {
  CUDP_DISPATCH(ctx, axpy, n, alpha, x, y);
}
inline void scale(const Context& ctx, int64_t n, float alpha, float* x) {
  CUDP_DISPATCH(ctx, scale, n, alpha, x);
}

}  // namespace cudp
