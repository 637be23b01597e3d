// CPU 2-D max-pooling, NCHW, no padding (PyTorch's MaxPool2d(kernel, stride)),
// kernels/maxpool.h.
//
// Versions (kernels/cpu/elementwise_versions.h): v1, the plain loops here, one
// thread; v2 (maxpool_fast.cpp) vectorizes the 2x2 stride-2 window and splits
// the planes over threads, with the same results bit for bit. The public ops,
// at the end, run v2.
//
// Layout: x [N,C,H,W] -> y [N,C,P,Q]; argmax [N,C,P,Q] holds the winner's
// offset h*W + w inside its own (n, c) plane, not in the whole tensor.
// The decisions a reader would get wrong, both PyTorch's:
//  - ties go to the FIRST element in row-major window order (the comparison is
//    a strict >), and a NaN always wins (`val > max || isnan(val)`, so of two
//    NaNs in one window the later one is recorded);
//  - backward zeroes dx and then ADDS each dy at its argmax, because windows
//    overlap when stride < kernel and one input may win several of them.
// Both work on a range of planes (n, c), which v2 hands out to threads.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/elementwise_versions.h"

namespace cudp::cpu {

void maxpool2d_forward_planes(const MaxPool2dShape& s, const float* x, float* y, int32_t* argmax,
                              int64_t plane_begin, int64_t plane_end) {
  const int64_t P = s.P(), Q = s.Q(), HW = s.H * s.W;
  for (int64_t plane = plane_begin; plane < plane_end; ++plane) {  // plane = n*C + c
    const float* in = x + plane * HW;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t h0 = p * s.stride, w0 = q * s.stride;  // window's top-left pixel
        // As PyTorch: start below every number, with the window's first index,
        // so a window of -inf still reports its first element.
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = h0 * s.W + w0;
        for (int64_t h = h0; h < h0 + s.kernel; ++h)
          for (int64_t w = w0; w < w0 + s.kernel; ++w) {
            const float v = in[h * s.W + w];
            if (v > best || std::isnan(v)) {
              best = v;
              best_index = h * s.W + w;
            }
          }
        const int64_t out = plane * P * Q + p * Q + q;
        y[out] = best;
        argmax[out] = static_cast<int32_t>(best_index);
      }
  }
}

void maxpool2d_backward_planes(const MaxPool2dShape& s, const float* dy, const int32_t* argmax,
                               float* dx, int64_t plane_begin, int64_t plane_end) {
  const int64_t PQ = s.P() * s.Q(), HW = s.H * s.W;
  for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
    float* grad_plane = dx + plane * HW;
    std::fill(grad_plane, grad_plane + HW, 0.0f);
    for (int64_t i = 0; i < PQ; ++i) {
      const int32_t index = argmax[plane * PQ + i];
      CUDP_ASSERT(index >= 0 && index < HW);  // argmax comes from maxpool2d_forward
      grad_plane[index] += dy[plane * PQ + i];
    }
  }
}

void maxpool2d_forward_v1(const Context& /*ctx*/, const MaxPool2dShape& s, const float* x, float* y,
                          int32_t* argmax) {
  check_maxpool2d_shape(s, "maxpool2d_forward");
  maxpool2d_forward_planes(s, x, y, argmax, 0, s.N * s.C);
}

void maxpool2d_backward_v1(const Context& /*ctx*/, const MaxPool2dShape& s, const float* dy,
                           const int32_t* argmax, float* dx) {
  check_maxpool2d_shape(s, "maxpool2d_backward");
  maxpool2d_backward_planes(s, dy, argmax, dx, 0, s.N * s.C);
}

void maxpool2d_forward(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                       int32_t* argmax) {
  maxpool2d_forward_v2(ctx, s, x, y, argmax);
}

void maxpool2d_backward(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                        const int32_t* argmax, float* dx) {
  maxpool2d_backward_v2(ctx, s, dy, argmax, dx);
}

}  // namespace cudp::cpu
