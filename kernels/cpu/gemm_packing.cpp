// Packing for the packed CPU GEMM (v2/v3): strided op(A)/op(B) -> micro-panels.
//
// Layout: see gemm_micro_kernel.h. The three layouts reach here as strides:
//   op(A)(i,k): NN/NT A[i*K + k] (row 1 apart along k),  TN A[k*M + i] (contiguous along i)
//   op(B)(k,j): NN/TN B[k*N + j] (contiguous along j),   NT B[j*K + k] (contiguous along k)
// A micro-panel wants the panel's rows side by side per k, a B micro-panel its
// columns side by side per k. So TN's A and NN/TN's B are straight copies, and
// NN/NT's A and NT's B are transposes: they go through 8 x 8 AVX2 transposes
// (8 loads, 24 shuffles, 8 stores), the scalar loop only for ragged edges.
//
// The decision a reader would get wrong: panels at the edge are padded with
// ZEROS, not left stale; the micro-kernel computes the padded rows/columns
// too, and stale NaNs there would be harmless only until someone reads them.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/cpu/gemm_micro_kernel.h"

namespace cudp::cpu {
namespace {

// dst[k * dst_stride + r] = src[r * src_stride + k] for r, k in 0..7.
inline void transpose_8x8(const float* src, int64_t src_stride, float* dst, int64_t dst_stride) {
  const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + src_stride),
               r2 = _mm256_loadu_ps(src + 2 * src_stride),
               r3 = _mm256_loadu_ps(src + 3 * src_stride),
               r4 = _mm256_loadu_ps(src + 4 * src_stride),
               r5 = _mm256_loadu_ps(src + 5 * src_stride),
               r6 = _mm256_loadu_ps(src + 6 * src_stride),
               r7 = _mm256_loadu_ps(src + 7 * src_stride);
  // Interleave pairs of rows: t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], ...
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
               t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
               t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  // Gather 4-row columns within each 128-bit half: s0 = column 0 of rows 0-3 | column 4 ...
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  // Join rows 0-3 (s0..s3) with rows 4-7 (s4..s7): low halves give columns 0-3, high 4-7.
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + dst_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// One micro-panel of `width` lanes (rows of A or columns of B) over kc steps:
// dst[k * width + l] = src[l * lane + k * step] for l < lanes, 0 for lanes <= l < width.
void pack_panel(const float* src, int64_t lane, int64_t step, int64_t lanes, int64_t kc, int width,
                float* dst) {
  if (lane == 1) {                           // the lanes are contiguous for each k: a copy per k
    if (lanes == width && width % 8 == 0) {  // whole panels: 8-float vector copies, no call
      for (int64_t k = 0; k < kc; ++k)
        for (int l = 0; l < width; l += 8)
          _mm256_storeu_ps(dst + k * width + l, _mm256_loadu_ps(src + k * step + l));
      return;
    }
    for (int64_t k = 0; k < kc; ++k) {
      float* out = dst + k * width;
      std::memcpy(out, src + k * step, static_cast<size_t>(lanes) * sizeof(float));
      std::fill(out + lanes, out + width, 0.0f);
    }
    return;
  }
  int64_t l0 = 0;
  if (step == 1) {  // each lane is contiguous along k: 8 x 8 transposes
    for (; l0 + 8 <= lanes; l0 += 8) {
      const float* s = src + l0 * lane;
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8) transpose_8x8(s + k, lane, dst + k * width + l0, width);
      for (; k < kc; ++k)
        for (int64_t l = 0; l < 8; ++l) dst[k * width + l0 + l] = s[l * lane + k];
    }
  }
  for (int64_t l = l0; l < width; ++l) {  // ragged lanes, then the zero padding
    const float* s = src + l * lane;
    if (l < lanes)
      for (int64_t k = 0; k < kc; ++k) dst[k * width + l] = s[k * step];
    else
      for (int64_t k = 0; k < kc; ++k) dst[k * width + l] = 0.0f;
  }
}

}  // namespace

void pack_a(StridedMatrix A, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int rows, float* out) {
  for (int64_t i = 0; i < mc; i += rows) {
    // Lanes are rows of op(A) (A.row apart), steps are k (A.col apart).
    const float* src = A.data + (i0 + i) * A.row + p0 * A.col;
    pack_panel(src, A.row, A.col, std::min<int64_t>(rows, mc - i), kc, rows, out + i * kc);
  }
}

void pack_b(StridedMatrix B, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int cols, float* out) {
  for (int64_t j = 0; j < nc; j += cols) {
    // Lanes are columns of op(B) (B.col apart), steps are k (B.row apart).
    const float* src = B.data + p0 * B.row + (j0 + j) * B.col;
    pack_panel(src, B.col, B.row, std::min<int64_t>(cols, nc - j), kc, cols, out + j * kc);
  }
}

}  // namespace cudp::cpu
