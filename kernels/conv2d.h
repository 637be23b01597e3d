// 2-D convolution (cross-correlation, as PyTorch's Conv2d), NCHW.
//
//   x  [N, C, H, W]    input          w  [K, C, R, S]  filters
//   y  [N, K, P, Q]    output         P = (H + 2*padding - R) / stride + 1
//                                     Q = (W + 2*padding - S) / stride + 1
//   y[n,k,p,q] = sum_{c,r,s} w[k,c,r,s] * x[n, c, p*stride - padding + r, q*stride - padding + s]
// with x read as 0 outside the image. The bias is a separate op (kernels/bias.h).
// Backward passes overwrite their outputs (zero_grad + backward in one).
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

struct Conv2dShape {
  int64_t N = 1, C = 1, H = 1, W = 1;  // input
  int64_t K = 1, R = 1, S = 1;         // filters
  int64_t stride = 1, padding = 0;

  int64_t P() const { return (H + 2 * padding - R) / stride + 1; }
  int64_t Q() const { return (W + 2 * padding - S) / stride + 1; }
  int64_t x_size() const { return N * C * H * W; }
  int64_t w_size() const { return K * C * R * S; }
  int64_t y_size() const { return N * K * P() * Q(); }
};

// Throws cudp::Error unless every size is positive and the output is non-empty.
void check_conv2d_shape(const Conv2dShape& s, const char* where);

CUDP_DECLARE_OP(conv2d_forward, const Conv2dShape& s, const float* x, const float* w, float* y)
CUDP_DECLARE_OP(conv2d_backward_data, const Conv2dShape& s, const float* dy, const float* w,
                float* dx)
CUDP_DECLARE_OP(conv2d_backward_weight, const Conv2dShape& s, const float* x, const float* dy,
                float* dw)

// y = conv(x, w)
inline void conv2d_forward(const Context& ctx, const Conv2dShape& s, const float* x, const float* w,
                           float* y) {
  CUDP_DISPATCH(ctx, conv2d_forward, s, x, w, y);
}
// dx = dL/dx given dy = dL/dy
inline void conv2d_backward_data(const Context& ctx, const Conv2dShape& s, const float* dy,
                                 const float* w, float* dx) {
  CUDP_DISPATCH(ctx, conv2d_backward_data, s, dy, w, dx);
}
// dw = dL/dw given dy = dL/dy
inline void conv2d_backward_weight(const Context& ctx, const Conv2dShape& s, const float* x,
                                   const float* dy, float* dw) {
  CUDP_DISPATCH(ctx, conv2d_backward_weight, s, x, dy, dw);
}

}  // namespace cudp
