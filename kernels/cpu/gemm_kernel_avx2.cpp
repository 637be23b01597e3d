// GEMM v2's micro-kernel: a 6 x 16 tile of C in twelve AVX2 registers (x86-64-v3).
//
// Layout: a is a packed A micro-panel (6 floats per k); b holds 16 floats per
// k, ldb apart (a packed B micro-panel, or B itself); see gemm_micro_kernel.h.
// Per k: two loads of b, six broadcasts of a, twelve FMAs. 12 accumulators +
// 2 b vectors + 1 broadcast = 15 of the 16 ymm registers; 12 independent FMA
// chains cover two FMA pipes of 4-cycle latency.
//
// The decision a reader would get wrong: the accumulators are two named
// arrays indexed only by compile-time constants inside fully unrolled loops,
// so g++ keeps them in registers; a runtime index would spill them to the
// stack. The epilogue is the contract of gemm_micro_kernel.h, nothing fused
// differently, so v2 and v3 agree bit for bit.
#include <immintrin.h>

#include "kernels/cpu/gemm_micro_kernel.h"

namespace cudp::cpu {
namespace {

constexpr int kRows = 6;
constexpr int kCols = 16;

void kernel_6x16(int64_t kc, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc,
                 float alpha, float beta) {
  __m256 lo[kRows], hi[kRows];  // columns 0-7 and 8-15 of each row
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) lo[i] = hi[i] = _mm256_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      lo[i] = _mm256_fmadd_ps(ai, b0, lo[i]);
      hi[i] = _mm256_fmadd_ps(ai, b1, hi[i]);
    }
    a += kRows;
    b += ldb;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 6
    for (int i = 0; i < kRows; ++i) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, lo[i]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, hi[i]));
    }
    return;
  }
  const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < kRows; ++i) {
    float* row = c + i * ldc;
    _mm256_storeu_ps(row, _mm256_fmadd_ps(va, lo[i], _mm256_mul_ps(vb, _mm256_loadu_ps(row))));
    _mm256_storeu_ps(row + 8,
                     _mm256_fmadd_ps(va, hi[i], _mm256_mul_ps(vb, _mm256_loadu_ps(row + 8))));
  }
}

}  // namespace

MicroKernel micro_kernel_avx2() { return {kRows, kCols, kernel_6x16}; }

}  // namespace cudp::cpu
