// The machine's FMA peak, measured: shared by bench_cpu_peak (as benchmarks) and
// bench_gemm_openblas (as the ceiling its GEMM rows are read against).
//
// Method: kPeakChains independent FMA chains held in registers (acc = acc * x + y,
// no memory traffic), enough of them to cover every FMA pipe's latency
// (2 pipes x 4 cycles = 8 chains in flight; 12 leave slack). Each FMA counts as
// 2 FLOPs per lane: 8 lanes for AVX2 (ymm), 16 for AVX-512 (zmm). With several
// threads every thread runs the chains at once (cudp's fork-join) and the rate
// is the sum over the wall time of the whole fork.
//
// The decisions a reader would get wrong: the chain functions are `noipa`
// because they are pure, and a pure call with a constant argument would be
// hoisted out of the timing loop; the AVX-512 one is compiled for AVX-512F by
// a target attribute on that function alone and may only run where
// cpu_has_avx512_for_peak() says so. Multipliers are 1 - 2^-20 and addends tiny,
// so the chains neither overflow nor go denormal.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "runtime/thread_pool.h"

namespace cudp::bench {

constexpr int kPeakChains = 12;

__attribute__((noipa)) inline float fma_chains_avx2(int64_t steps) {
  __m256 acc[kPeakChains];
  for (int c = 0; c < kPeakChains; ++c) acc[c] = _mm256_set1_ps(1.0f + c);
  const __m256 x = _mm256_set1_ps(1.0f - 1.0f / (1 << 20)), y = _mm256_set1_ps(1e-7f);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int c = 0; c < kPeakChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], x, y);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < kPeakChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  return _mm256_cvtss_f32(sum);
}

__attribute__((noipa, target("avx512f"))) inline float fma_chains_avx512(int64_t steps) {
  __m512 acc[kPeakChains];
  for (int c = 0; c < kPeakChains; ++c) acc[c] = _mm512_set1_ps(1.0f + c);
  const __m512 x = _mm512_set1_ps(1.0f - 1.0f / (1 << 20)), y = _mm512_set1_ps(1e-7f);
  for (int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 12
    for (int c = 0; c < kPeakChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], x, y);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kPeakChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  return lanes[0];
}

inline bool cpu_has_avx512_for_peak() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") != 0;
}

// FLOPs of one call of a chain function with `steps` steps.
inline double peak_flops(bool avx512, int64_t steps) {
  return 2.0 * (avx512 ? 16 : 8) * kPeakChains * static_cast<double>(steps);
}

// Seconds of wall time for `threads` threads each running `steps` steps at once.
inline double time_fma_chains(bool avx512, int threads, int64_t steps) {
  const auto start = std::chrono::steady_clock::now();
  cudp::parallel_run(threads, [&](int) {
    volatile float sink = avx512 ? fma_chains_avx512(steps) : fma_chains_avx2(steps);
    (void)sink;
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The best of `repeats` forks, in GFLOP/s over all threads (0 for AVX-512 without it).
inline double measure_fma_peak_gflops(bool avx512, int threads, int repeats = 20,
                                      int64_t steps = 1 << 18) {
  if (avx512 && !cpu_has_avx512_for_peak()) return 0.0;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) best = std::min(best, time_fma_chains(avx512, threads, steps));
  return peak_flops(avx512, steps) * threads / best * 1e-9;
}

}  // namespace cudp::bench
