// CPU 2-D max-pooling, NCHW, no padding (PyTorch's MaxPool2d(kernel, stride)),
// kernels/maxpool.h.
//
// Versions (maxpool2d_*_version, kernels/cpu/versions.h; the public ops run the default, v2):
//   v1: the plain loops, one thread
//   v2: the N*C planes split over ctx.threads; the 2x2 stride-2 window (the seed
//       nets' pools) 8 outputs at a time with AVX2 (other windows run v1's loop);
//       the same results as v1 bit for bit (see v2's section below)
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
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/versions.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

// ---------------------------------------------------------------- v1: plain loops

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

void maxpool2d_forward_v1(const MaxPool2dShape& s, const float* x, float* y, int32_t* argmax) {
  check_maxpool2d_shape(s, "maxpool2d_forward");
  maxpool2d_forward_planes(s, x, y, argmax, 0, s.N * s.C);
}

void maxpool2d_backward_v1(const MaxPool2dShape& s, const float* dy, const int32_t* argmax,
                           float* dx) {
  check_maxpool2d_shape(s, "maxpool2d_backward");
  maxpool2d_backward_planes(s, dy, argmax, dx, 0, s.N * s.C);
}

// ---------------------------------------------------------------- v2: AVX2 2x2, threads
//
// v2 splits the N*C planes over ctx.threads threads. For the 2x2 stride-2
// window (the seed nets' pools) it computes 8 outputs at once with AVX2:
//   two rows of 16 inputs -> even/odd columns a b (row 2p), c d (row 2p+1),
//   then v1's scan a, b, c, d: take v if (v > best || isnan(v)), as blends.
// Other windows run v1's loop; the last Q % 8 outputs of a row run the scan below
// on one lane.
//
// The decisions a reader would get wrong: the scan starts from best = a
// rather than v1's -inf, which is the same result (a > -inf or a is NaN takes
// a; a == -inf keeps -inf and a's index either way), so ties still go to the
// first element and a NaN still wins, bit for bit as v1. Backward is v1's
// per-plane zero-and-scatter on each thread's planes (planes never overlap).

constexpr double kMinElementsPerThread = 32768;

// Even and odd elements of the 16 floats at p: (p[0], p[2], ..., p[14]) and (p[1], ..., p[15]).
inline void deinterleave(const float* p, __m256& even, __m256& odd) {
  const __m256 lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
  // shuffle gives lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6; permute puts the 64-bit pairs in order
  even = _mm256_castpd_ps(
      _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))),
                            _MM_SHUFFLE(3, 1, 2, 0)));
  odd = _mm256_castpd_ps(
      _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))),
                            _MM_SHUFFLE(3, 1, 2, 0)));
}

// v1's step `if (v > best || isnan(v)) take v` on 8 lanes.
inline void take_if_greater(__m256 v, __m256i v_index, __m256& best, __m256i& best_index) {
  const __m256 take =
      _mm256_or_ps(_mm256_cmp_ps(v, best, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  best = _mm256_blendv_ps(best, v, take);
  best_index = _mm256_castps_si256(
      _mm256_blendv_ps(_mm256_castsi256_ps(best_index), _mm256_castsi256_ps(v_index), take));
}

void pool_2x2_planes(const MaxPool2dShape& s, const float* x, float* y, int32_t* argmax,
                     int64_t plane_begin, int64_t plane_end) {
  const int64_t P = s.P(), Q = s.Q(), W = s.W, HW = s.H * s.W;
  const __m256i even_offsets = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i one = _mm256_set1_epi32(1), row = _mm256_set1_epi32(static_cast<int32_t>(W));
  for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
    const float* in = x + plane * HW;
    for (int64_t p = 0; p < P; ++p) {
      const float* top = in + 2 * p * W;  // window rows 2p and 2p+1
      float* out = y + plane * P * Q + p * Q;
      int32_t* out_index = argmax + plane * P * Q + p * Q;
      int64_t q = 0;
      for (; q + 8 <= Q; q += 8) {
        __m256 a, b, c, d;  // a b / c d: the window's four pixels, row-major
        deinterleave(top + 2 * q, a, b);
        deinterleave(top + W + 2 * q, c, d);
        // index of a for output q + lane: (2p) * W + 2 * (q + lane)
        const __m256i ia = _mm256_add_epi32(
            _mm256_set1_epi32(static_cast<int32_t>(2 * p * W + 2 * q)), even_offsets);
        const __m256i ic = _mm256_add_epi32(ia, row);
        __m256 best = a;
        __m256i best_index = ia;
        take_if_greater(b, _mm256_add_epi32(ia, one), best, best_index);
        take_if_greater(c, ic, best, best_index);
        take_if_greater(d, _mm256_add_epi32(ic, one), best, best_index);
        _mm256_storeu_ps(out + q, best);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out_index + q), best_index);
      }
      for (; q < Q; ++q) {  // the row's last Q % 8 windows: the same scan, one lane
        const int64_t a = 2 * p * W + 2 * q;  // index of the window's first pixel
        const int64_t index[4] = {a, a + 1, a + W, a + W + 1};
        float best = in[a];
        int64_t best_index = a;
        for (int j = 1; j < 4; ++j) {
          const float v = in[index[j]];
          if (v > best || std::isnan(v)) {
            best = v;
            best_index = index[j];
          }
        }
        out[q] = best;
        out_index[q] = static_cast<int32_t>(best_index);
      }
    }
  }
}

int plane_threads(const Context& ctx, const MaxPool2dShape& s) {
  return threads_for(ctx.threads, static_cast<double>(s.x_size()), kMinElementsPerThread,
                     s.N * s.C);
}

void maxpool2d_forward_v2(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                          int32_t* argmax) {
  check_maxpool2d_shape(s, "maxpool2d_forward");
  const bool two_by_two = s.kernel == 2 && s.stride == 2;
  const int threads = plane_threads(ctx, s);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(s.N * s.C, threads, t);
    if (two_by_two)
      pool_2x2_planes(s, x, y, argmax, r.begin, r.end);
    else
      maxpool2d_forward_planes(s, x, y, argmax, r.begin, r.end);
  });
}

void maxpool2d_backward_v2(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                           const int32_t* argmax, float* dx) {
  check_maxpool2d_shape(s, "maxpool2d_backward");
  const int threads = plane_threads(ctx, s);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(s.N * s.C, threads, t);
    maxpool2d_backward_planes(s, dy, argmax, dx, r.begin, r.end);
  });
}

}  // namespace

// ---------------------------------------------------------------- dispatch

int maxpool2d_versions() { return 2; }
int maxpool2d_default_version() { return 2; }

void maxpool2d_forward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                               const float* x, float* y, int32_t* argmax) {
  check_version("maxpool2d_forward", version, maxpool2d_versions());
  if (version == 1) return maxpool2d_forward_v1(s, x, y, argmax);
  maxpool2d_forward_v2(ctx, s, x, y, argmax);
}

void maxpool2d_backward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                                const float* dy, const int32_t* argmax, float* dx) {
  check_version("maxpool2d_backward", version, maxpool2d_versions());
  if (version == 1) return maxpool2d_backward_v1(s, dy, argmax, dx);
  maxpool2d_backward_v2(ctx, s, dy, argmax, dx);
}

void maxpool2d_forward(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                       int32_t* argmax) {
  maxpool2d_forward_version(maxpool2d_default_version(), ctx, s, x, y, argmax);
}

void maxpool2d_backward(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                        const int32_t* argmax, float* dx) {
  maxpool2d_backward_version(maxpool2d_default_version(), ctx, s, dy, argmax, dx);
}

}  // namespace cudp::cpu
