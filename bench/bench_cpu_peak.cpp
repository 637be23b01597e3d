// The machine's FMA peak, the ceiling that the CPU GEMM and conv figures are read against.
//
// Run (from the build folder):
//   bench/bench_cpu_peak                                   # AVX2 and AVX-512, 1 and all threads
//   bench/bench_cpu_peak --benchmark_format=json --benchmark_out=peak.json
//
// Method (bench/cpu_peak.h): independent FMA chains in registers, no memory
// traffic; GFLOP/s = 2 x lanes x FMAs over the wall time of a fork that runs
// the chains on every thread at once. Rows: fma_peak_<isa>/threads:<n>.
//
// The decision a reader would get wrong: on a CPU without AVX-512F the
// AVX-512 rows report an error, never a number (the function would fault).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <thread>

#include "bench/cpu_peak.h"

namespace cudp::bench {
namespace {

void run_peak(benchmark::State& state, bool avx512) {
  if (avx512 && !cpu_has_avx512_for_peak()) {
    state.SkipWithError("this CPU has no AVX-512F");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  const int64_t steps = 1 << 18;  // about 1 ms per fork
  for (auto _ : state) state.SetIterationTime(time_fma_chains(avx512, threads, steps));
  state.counters["GFLOP/s"] = benchmark::Counter(peak_flops(avx512, steps) * threads * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_fma_peak_avx2(benchmark::State& state) { run_peak(state, false); }
void BM_fma_peak_avx512(benchmark::State& state) { run_peak(state, true); }

const int kAllThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

BENCHMARK(BM_fma_peak_avx2)->ArgName("threads")->Arg(1)->Arg(kAllThreads)->UseManualTime();
BENCHMARK(BM_fma_peak_avx512)->ArgName("threads")->Arg(1)->Arg(kAllThreads)->UseManualTime();

}  // namespace
}  // namespace cudp::bench

BENCHMARK_MAIN();
