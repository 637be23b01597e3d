// 2-D max-pooling, NCHW, no padding (PyTorch's MaxPool2d(kernel, stride)).
//
//   x [N, C, H, W] -> y [N, C, P, Q],  P = (H - kernel) / stride + 1 (floor),
//   y[n,c,p,q] = max over the kernel x kernel window at (p*stride, q*stride).
// Ties go to the FIRST index in row-major window order, and a NaN wins, as in
// PyTorch (of two NaNs the later one is recorded). argmax[n,c,p,q] records the
// winner as h*W + w within its plane. backward overwrites dx: zero, then
// dx[argmax] += dy (windows may overlap).
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

struct MaxPool2dShape {
  int64_t N = 1, C = 1, H = 1, W = 1;
  int64_t kernel = 2, stride = 2;

  int64_t P() const { return (H - kernel) / stride + 1; }
  int64_t Q() const { return (W - kernel) / stride + 1; }
  int64_t x_size() const { return N * C * H * W; }
  int64_t y_size() const { return N * C * P() * Q(); }
};

void check_maxpool2d_shape(const MaxPool2dShape& s, const char* where);

CUDP_DECLARE_OP(maxpool2d_forward, const MaxPool2dShape& s, const float* x, float* y,
                int32_t* argmax)
CUDP_DECLARE_OP(maxpool2d_backward, const MaxPool2dShape& s, const float* dy, const int32_t* argmax,
                float* dx)

inline void maxpool2d_forward(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                              int32_t* argmax) {
  CUDP_DISPATCH(ctx, maxpool2d_forward, s, x, y, argmax);
}
inline void maxpool2d_backward(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                               const int32_t* argmax, float* dx) {
  CUDP_DISPATCH(ctx, maxpool2d_backward, s, dy, argmax, dx);
}

}  // namespace cudp
