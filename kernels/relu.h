// ReLU over n elements.
//   forward:  y = max(x, 0)                 (y may alias x; NaN stays NaN, as torch.relu)
//   backward: dx = y <= 0 ? 0 : dy          (y is the forward OUTPUT; dx may alias dy;
//             PyTorch's threshold_backward: a NaN y passes the gradient through)
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

CUDP_DECLARE_OP(relu_forward, int64_t n, const float* x, float* y)
CUDP_DECLARE_OP(relu_backward, int64_t n, const float* y, const float* dy, float* dx)

inline void relu_forward(const Context& ctx, int64_t n, const float* x, float* y) {
  CUDP_DISPATCH(ctx, relu_forward, n, x, y);
}
inline void relu_backward(const Context& ctx, int64_t n, const float* y, const float* dy,
                          float* dx) {
  CUDP_DISPATCH(ctx, relu_backward, n, y, dy, dx);
}

}  // namespace cudp
