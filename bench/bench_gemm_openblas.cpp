// cudp's CPU GEMM against OpenBLAS's sgemm and the machine's FMA peak, in one run.
//
// Run (from the build folder; built only where OpenBLAS is found, see CMakeLists.txt):
//   bench/bench_gemm_openblas                                  # every row, then a ratio table
//   bench/bench_gemm_openblas --benchmark_filter=1024
//   bench/bench_gemm_openblas --benchmark_format=json --benchmark_out=gemm_cpu.json
// Rows: BM_gemm/<impl>/<shape>/threads:<n>, impl one of
//   cudp_v3  the packed GEMM with the AVX-512 micro-kernel (only where the CPU has it)
//   cudp_v2  the packed GEMM with the AVX2 micro-kernel
//   openblas cblas_sgemm, row-major, with openblas_set_num_threads(n)
// Shapes: square NN 256 .. 2048, and the seed-pool net's GEMMs: its Linear layers at
// batch 32 and 128 (forward NT, backward-data NN, backward-weight TN) and the
// per-sample GEMMs of its convolutions (forward NN, backward-data TN, backward-weight NT).
// Counters: GFLOP/s (2*M*N*K per call) and peak_pct, the share of the FMA peak
// measured at start-up (bench/cpu_peak.h) for the row's ISA and thread count
// (OpenBLAS is read against the best ISA). After the rows, a table on stderr
// gives cudp / OpenBLAS for every shape and thread count.
//
// The decisions a reader would get wrong: OPENBLAS_CORETYPE in the environment
// overrides OpenBLAS's own choice of kernels, and this workspace sets it to
// Haswell (AVX2 kernels, about half the speed of the AVX-512 Cooperlake kernels
// OpenBLAS picks by itself here): run `env -u OPENBLAS_CORETYPE bench/...` for the
// strong baseline. The core in use is in the JSON context and on the ratio table,
// with a warning when it was forced. OpenBLAS is linked into THIS executable
// only (never into a cudp library); all cudp rows run before any OpenBLAS row,
// because OpenBLAS's idle threads spin for a while after each call and would
// steal the second core from a cudp row that followed. Every implementation is
// validated against a double-precision loop on odd shapes before it is timed.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_common.h"
#include "bench/cpu_peak.h"
#include "kernels/cpu/versions.h"

namespace cudp::bench {
namespace {

enum class Impl { CudpV3, CudpV2, OpenBlas };
const char* impl_name(Impl impl) {
  return impl == Impl::CudpV3 ? "cudp_v3" : impl == Impl::CudpV2 ? "cudp_v2" : "openblas";
}

void run_impl(Impl impl, int threads, GemmLayout layout, int64_t M, int64_t N, int64_t K,
              const float* A, const float* B, float* C) {
  if (impl == Impl::OpenBlas) {
    const bool ta = layout == GemmLayout::TN, tb = layout == GemmLayout::NT;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, A,
                static_cast<int>(ta ? M : K), B, static_cast<int>(tb ? K : N), 0.0f, C,
                static_cast<int>(N));
    return;
  }
  const int version = impl == Impl::CudpV3 ? 3 : 2;  // kernels/cpu/versions.h
  cpu::gemm_version(version, cpu_context(threads), layout, M, N, K, 1.0f, A, B, 0.0f, C);
}

std::vector<float> values(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = bench_value(seed, i);
  return v;
}

// "" when impl matches the double loop on every layout at odd shapes, 1 and 2 threads.
std::string validate(Impl impl) {
  for (GemmLayout layout : {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN})
    for (int threads : {1, 2}) {
      const int64_t M = 37, N = 45, K = 301;  // no multiple of any tile or K block
      const auto A = values(M * K, 1), B = values(K * N, 2);
      std::vector<float> C(static_cast<size_t>(M * N), 7.0f);
      run_impl(impl, threads, layout, M, N, K, A.data(), B.data(), C.data());
      Checker check(std::string(impl_name(impl)) + " " + gemm_layout_name(layout));
      auto a = [&](int64_t i) { return static_cast<double>(A[static_cast<size_t>(i)]); };
      auto b = [&](int64_t i) { return static_cast<double>(B[static_cast<size_t>(i)]); };
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
          check.sum(i * N + j, C[static_cast<size_t>(i * N + j)],
                    gemm_ref(layout, M, N, K, a, b, i, j));
      if (!check.ok()) return check.message();
    }
  return "";
}

double peak_for(Impl impl, int threads) {
  static std::map<std::pair<bool, int>, double> measured;
  const bool avx512 = impl != Impl::CudpV2 && cpu_has_avx512_for_peak();
  auto key = std::make_pair(avx512, threads);
  if (!measured.count(key)) measured[key] = measure_fma_peak_gflops(avx512, threads);
  return measured[key];
}

// GFLOP/s by (shape, threads) and impl, for the ratio table.
std::map<std::pair<std::string, int>, std::map<Impl, double>> results;

void BM_gemm(benchmark::State& state, Impl impl, std::string shape, GemmLayout layout, int64_t M,
             int64_t N, int64_t K) {
  if (impl == Impl::CudpV3 && !cpu::gemm_version_available(3)) {
    state.SkipWithError("this CPU has no AVX-512F");
    return;
  }
  static std::map<Impl, std::string> verdicts;
  if (!verdicts.count(impl)) verdicts[impl] = validate(impl);
  if (!verdicts[impl].empty()) {
    state.SkipWithError(("not timed, validation failed: " + verdicts[impl]).c_str());
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  if (impl == Impl::OpenBlas) openblas_set_num_threads(threads);
  const auto A = values(M * K, 11), B = values(K * N, 12);
  std::vector<float> C(static_cast<size_t>(M * N));
  run_impl(impl, threads, layout, M, N, K, A.data(), B.data(), C.data());  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    run_impl(impl, threads, layout, M, N, K, A.data(), B.data(), C.data());
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double gflops =
      gemm_flops(M, N, K) * static_cast<double>(state.iterations()) / seconds * 1e-9;
  results[{shape, threads}][impl] = gflops;
  state.counters["GFLOP/s"] =
      benchmark::Counter(gemm_flops(M, N, K) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_pct"] = 100.0 * gflops / peak_for(impl, threads);
}

struct Shape {
  std::string name;
  GemmLayout layout;
  int64_t M, N, K;
};

std::vector<Shape> shapes() {
  std::vector<Shape> out;
  for (int64_t n : {256, 512, 1024, 1536, 2048})
    out.push_back({"NN_" + std::to_string(n), GemmLayout::NN, n, n, n});
  for (int64_t batch : {32, 128}) {
    const std::string b = "_b" + std::to_string(batch);
    out.push_back({"fc1_forward_NT" + b, GemmLayout::NT, batch, 512, 4096});
    out.push_back({"fc1_backward_data_NN" + b, GemmLayout::NN, batch, 4096, 512});
    out.push_back({"fc1_backward_weight_TN" + b, GemmLayout::TN, 512, 4096, batch});
  }
  // Per-sample conv GEMMs (kernels/cpu/conv2d_packed.cpp): conv1 3->64 on 32x32, conv2 64->64 on
  // 16x16.
  out.push_back({"conv1_forward_NN_64x1024x27", GemmLayout::NN, 64, 1024, 27});
  out.push_back({"conv1_backward_weight_NT_64x27x1024", GemmLayout::NT, 64, 27, 1024});
  out.push_back({"conv2_forward_NN_64x256x576", GemmLayout::NN, 64, 256, 576});
  out.push_back({"conv2_backward_data_TN_576x256x64", GemmLayout::TN, 576, 256, 64});
  out.push_back({"conv2_backward_weight_NT_64x576x256", GemmLayout::NT, 64, 576, 256});
  return out;
}

void print_ratios() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  std::fprintf(stderr, "\nOpenBLAS core: %s%s%s\n", openblas_get_corename(),
               forced ? ", FORCED by OPENBLAS_CORETYPE=" : " (its own choice)",
               forced ? forced : "");
  std::fprintf(stderr, "%-40s %7s %10s %10s %10s %8s\n", "shape", "threads", "cudp_v3", "cudp_v2",
               "openblas", "v3/blas");
  for (const auto& [key, row] : results) {
    auto get = [&](Impl impl) { return row.count(impl) ? row.at(impl) : 0.0; };
    const double blas = get(Impl::OpenBlas), best = std::max(get(Impl::CudpV3), get(Impl::CudpV2));
    std::fprintf(stderr, "%-40s %7d %10.1f %10.1f %10.1f %7.0f%%\n", key.first.c_str(), key.second,
                 get(Impl::CudpV3), get(Impl::CudpV2), blas, blas > 0 ? 100.0 * best / blas : 0.0);
  }
  for (int threads : {1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))})
    std::fprintf(stderr, "FMA peak, %d thread(s): AVX2 %.1f GFLOP/s, AVX-512 %.1f GFLOP/s\n",
                 threads, peak_for(Impl::CudpV2, threads), peak_for(Impl::CudpV3, threads));
}

void register_all() {
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (Impl impl : {Impl::CudpV3, Impl::CudpV2, Impl::OpenBlas})  // cudp first: see above
    for (const Shape& s : shapes()) {
      const std::string name = std::string("BM_gemm/") + impl_name(impl) + "/" + s.name;
      benchmark::RegisterBenchmark(name.c_str(), BM_gemm, impl, s.name, s.layout, s.M, s.N, s.K)
          ->ArgName("threads")
          ->Arg(1)
          ->Arg(all)
          ->UseRealTime()  // wall time: with 2 threads, CPU time is the main thread's only
          ->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace
}  // namespace cudp::bench

int main(int argc, char** argv) {
  cudp::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("openblas_coretype_env", forced ? forced : "(unset)");
  benchmark::RunSpecifiedBenchmarks();
  cudp::bench::print_ratios();
  benchmark::Shutdown();
  return 0;
}
