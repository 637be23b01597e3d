// GEMM v3's micro-kernel: an 8 x 32 tile of C in sixteen AVX-512 registers.
//
// Layout: a is a packed A micro-panel (8 floats per k); b holds 32 floats per
// k, ldb apart (a packed B micro-panel, or B itself); see gemm_micro_kernel.h.
// Per k: two 16-float loads of b, eight broadcasts of a (folded into the FMAs
// as {1to16} memory operands), sixteen FMAs. Eight rows divide the shapes the
// seed-pool net feeds it (64 conv filters, batch 32, 512 features), so no
// row tile is wasted; 16 independent chains cover two 512-bit FMA pipes.
//
// The decisions a reader would get wrong:
//  - this file is compiled for x86-64-v3 like the rest, and only kernel_8x32
//    may use AVX-512: it alone carries __attribute__((target("avx512f"))),
//    which g++ and clang both honour (clang ignores `#pragma GCC target`). An
//    inline function from a header that it calls is emitted, if at all, for
//    the file's own x86-64-v3 target, so no AVX-512 copy of it can reach the
//    AVX2 callers through the linker (never -march=native, never -mavx512f);
//  - it runs only where __builtin_cpu_supports("avx512f") said yes
//    (micro_kernel(), gemm_packed.cpp);
//  - the epilogue is the contract of gemm_micro_kernel.h, so v3 == v2 bitwise.
#include <immintrin.h>

#include "kernels/cpu/gemm_micro_kernel.h"

namespace cudp::cpu {
namespace {

constexpr int kRows = 8;
constexpr int kCols = 32;

__attribute__((target("avx512f"))) void kernel_8x32(int64_t kc, const float* a, const float* b,
                                                    int64_t ldb, float* c, int64_t ldc, float alpha,
                                                    float beta) {
  __m512 lo[kRows], hi[kRows];  // columns 0-15 and 16-31 of each row
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) lo[i] = hi[i] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      lo[i] = _mm512_fmadd_ps(ai, b0, lo[i]);
      hi[i] = _mm512_fmadd_ps(ai, b1, hi[i]);
    }
    a += kRows;
    b += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, lo[i]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, hi[i]));
    }
    return;
  }
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int i = 0; i < kRows; ++i) {
    float* row = c + i * ldc;
    _mm512_storeu_ps(row, _mm512_fmadd_ps(va, lo[i], _mm512_mul_ps(vb, _mm512_loadu_ps(row))));
    _mm512_storeu_ps(row + 16,
                     _mm512_fmadd_ps(va, hi[i], _mm512_mul_ps(vb, _mm512_loadu_ps(row + 16))));
  }
}

}  // namespace

MicroKernel micro_kernel_avx512() { return {kRows, kCols, kernel_8x32}; }

}  // namespace cudp::cpu
