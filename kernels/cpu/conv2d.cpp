// CPU conv2d (cross-correlation, PyTorch's Conv2d without bias), forward and both backwards.
//
// Versions (conv2d_*_version, kernels/cpu/versions.h; the public ops run the default):
//   v1: per sample, im2col + GEMM v1 (this file); one thread; the reference
//   v2: per sample, row-copy im2col + GEMM v2's packed driver on ctx.threads (conv2d_packed.cpp)
//   v3: v2 on GEMM v3's AVX-512 micro-kernel, where the CPU has AVX-512F
// The default is v3 where active_cpu_isa() is AVX-512, else v2, as for the GEMM; the
// dispatcher is at the end of this file. The rest of this comment is about v1.
//
// Layout: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q], all contiguous NCHW.
// Method: one sample at a time, im2col + GEMM v1 (kernels/cpu/gemm.cpp):
//   col [C*R*S, P*Q],  col[(c*R + r)*S + s][p*Q + q] = x[c, p*stride - padding + r,
//                                                          q*stride - padding + s]  (0 outside)
//   forward          y_n [K, PQ]   = w [K, CRS] * col [CRS, PQ]           (NN)
//   backward data    dcol [CRS,PQ] = w^T [CRS, K] * dy_n [K, PQ]          (TN), then col2im
//   backward weight  dw [K, CRS]  += dy_n [K, PQ] * col^T [PQ, CRS]       (NT), over n
// The column buffer is a thread_local scratch that grows to the largest layer
// and is reused: no allocation in a steady-state training step.
//
// The decisions a reader would get wrong: both backwards OVERWRITE their output
// (col2im scatters with += into a dx that is zeroed first, because windows
// overlap whenever stride < kernel; dw takes beta = 0 on the first sample);
// and padding is never materialized: im2col writes the zeros.
#include <algorithm>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/conv2d_packed.h"
#include "kernels/cpu/versions.h"

namespace cudp::cpu {
namespace {

// x_n [C,H,W] -> col [C*R*S, P*Q] (see the file comment).
void im2col(const Conv2dShape& s, const float* x_n, float* col) {
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        // row (c, r, t) of col: input pixel (p*stride - padding + r, q*stride - padding + t)
        float* row = col + ((c * s.R + r) * s.S + t) * P * Q;
        for (int64_t p = 0; p < P; ++p) {
          const int64_t h = p * s.stride - s.padding + r;
          float* out = row + p * Q;
          if (h < 0 || h >= s.H) {
            std::fill(out, out + Q, 0.0f);
            continue;
          }
          const float* in = x_n + (c * s.H + h) * s.W;
          for (int64_t q = 0; q < Q; ++q) {
            const int64_t w = q * s.stride - s.padding + t;
            out[q] = (w >= 0 && w < s.W) ? in[w] : 0.0f;
          }
        }
      }
}

// The adjoint of im2col: dx_n [C,H,W] = sum of dcol into the pixels it was read
// from. dx_n must be zeroed by the caller; padding positions are dropped.
void col2im(const Conv2dShape& s, const float* dcol, float* dx_n) {
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        const float* row = dcol + ((c * s.R + r) * s.S + t) * P * Q;
        for (int64_t p = 0; p < P; ++p) {
          const int64_t h = p * s.stride - s.padding + r;
          if (h < 0 || h >= s.H) continue;
          float* out = dx_n + (c * s.H + h) * s.W;
          const float* in = row + p * Q;
          for (int64_t q = 0; q < Q; ++q) {
            const int64_t w = q * s.stride - s.padding + t;
            if (w >= 0 && w < s.W) out[w] += in[q];
          }
        }
      }
}

// A 1x1 filter with stride 1 and no padding reads x_n as col unchanged.
bool col_is_input(const Conv2dShape& s) {
  return s.R == 1 && s.S == 1 && s.stride == 1 && s.padding == 0;
}

float* col_scratch(const Conv2dShape& s) {
  thread_local std::vector<float> col;
  const size_t size = static_cast<size_t>(s.C * s.R * s.S * s.P() * s.Q());
  if (col.size() < size) col.resize(size);
  return col.data();
}

void conv2d_forward_v1(const Context& ctx, const Conv2dShape& s, const float* x, const float* w,
                       float* y) {
  check_conv2d_shape(s, "conv2d_forward");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  float* col = col_is_input(s) ? nullptr : col_scratch(s);
  for (int64_t n = 0; n < s.N; ++n) {
    const float* x_n = x + n * CHW;
    if (col) im2col(s, x_n, col);
    gemm_version(1, ctx, GemmLayout::NN, s.K, PQ, CRS, 1.0f, w, col ? col : x_n, 0.0f,
                 y + n * s.K * PQ);
  }
}

void conv2d_backward_data_v1(const Context& ctx, const Conv2dShape& s, const float* dy,
                             const float* w, float* dx) {
  check_conv2d_shape(s, "conv2d_backward_data");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  if (col_is_input(s)) {  // dx_n is dcol itself
    for (int64_t n = 0; n < s.N; ++n)
      gemm_version(1, ctx, GemmLayout::TN, CRS, PQ, s.K, 1.0f, w, dy + n * s.K * PQ, 0.0f,
                   dx + n * CHW);
    return;
  }
  float* dcol = col_scratch(s);
  for (int64_t n = 0; n < s.N; ++n) {
    gemm_version(1, ctx, GemmLayout::TN, CRS, PQ, s.K, 1.0f, w, dy + n * s.K * PQ, 0.0f, dcol);
    float* dx_n = dx + n * CHW;
    std::fill(dx_n, dx_n + CHW, 0.0f);
    col2im(s, dcol, dx_n);
  }
}

void conv2d_backward_weight_v1(const Context& ctx, const Conv2dShape& s, const float* x,
                               const float* dy, float* dw) {
  check_conv2d_shape(s, "conv2d_backward_weight");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  float* col = col_is_input(s) ? nullptr : col_scratch(s);
  for (int64_t n = 0; n < s.N; ++n) {
    const float* x_n = x + n * CHW;
    if (col) im2col(s, x_n, col);
    // beta 0 on the first sample overwrites dw; later samples accumulate.
    gemm_version(1, ctx, GemmLayout::NT, s.K, CRS, PQ, 1.0f, dy + n * s.K * PQ, col ? col : x_n,
                 n == 0 ? 0.0f : 1.0f, dw);
  }
}

// The micro-kernel of versions 2 and 3 (after check_version; 1 has none).
CpuIsa isa_of_version(int version) {
  if (version == 2) return CpuIsa::Avx2;
  if (!cpu_has_avx512()) fail("conv2d (cpu): version 3 needs AVX-512F, which this CPU lacks");
  return CpuIsa::Avx512;
}

}  // namespace

int conv2d_versions() { return 3; }
int conv2d_default_version() { return active_cpu_isa() == CpuIsa::Avx512 ? 3 : 2; }
bool conv2d_version_available(int version) { return gemm_version_available(version); }

void conv2d_forward_version(int version, const Context& ctx, const Conv2dShape& s, const float* x,
                            const float* w, float* y) {
  check_version("conv2d_forward", version, conv2d_versions());
  if (version == 1) return conv2d_forward_v1(ctx, s, x, w, y);
  conv2d_forward_packed(ctx, isa_of_version(version), s, x, w, y);
}

void conv2d_backward_data_version(int version, const Context& ctx, const Conv2dShape& s,
                                  const float* dy, const float* w, float* dx) {
  check_version("conv2d_backward_data", version, conv2d_versions());
  if (version == 1) return conv2d_backward_data_v1(ctx, s, dy, w, dx);
  conv2d_backward_data_packed(ctx, isa_of_version(version), s, dy, w, dx);
}

void conv2d_backward_weight_version(int version, const Context& ctx, const Conv2dShape& s,
                                    const float* x, const float* dy, float* dw) {
  check_version("conv2d_backward_weight", version, conv2d_versions());
  if (version == 1) return conv2d_backward_weight_v1(ctx, s, x, dy, dw);
  conv2d_backward_weight_packed(ctx, isa_of_version(version), s, x, dy, dw);
}

void conv2d_forward(const Context& ctx, const Conv2dShape& s, const float* x, const float* w,
                    float* y) {
  if (ctx.math == Math::tf32)
    return conv2d_forward_tf32_version(conv2d_tf32_default_version(), ctx, s, x, w, y);
  conv2d_forward_version(conv2d_default_version(), ctx, s, x, w, y);
}

void conv2d_backward_data(const Context& ctx, const Conv2dShape& s, const float* dy, const float* w,
                          float* dx) {
  if (ctx.math == Math::tf32)
    return conv2d_backward_data_tf32_version(conv2d_tf32_default_version(), ctx, s, dy, w, dx);
  conv2d_backward_data_version(conv2d_default_version(), ctx, s, dy, w, dx);
}

void conv2d_backward_weight(const Context& ctx, const Conv2dShape& s, const float* x,
                            const float* dy, float* dw) {
  if (ctx.math == Math::tf32)
    return conv2d_backward_weight_tf32_version(conv2d_tf32_default_version(), ctx, s, x, dy, dw);
  conv2d_backward_weight_version(conv2d_default_version(), ctx, s, x, dy, dw);
}

}  // namespace cudp::cpu
