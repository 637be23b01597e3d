// Google Benchmark of the CPU twins: GEMM and the three conv2d passes.
//
// Run (from the build folder):
//   bench/bench_kernels_cpu                               # everything, GFLOP/s
//   bench/bench_kernels_cpu --benchmark_filter=gemm       # one family
//   bench/bench_kernels_cpu --benchmark_format=json --benchmark_out=cpu.json
// The CPU ops run in the calling thread (one core): the figures are
// single-thread GFLOP/s, counted as 2*M*N*K for GEMM and 2*N*K*P*Q*C*R*S for
// each conv2d pass (bench/bench_common.h).
//
// Shapes: square GEMMs 256/512/1024 (NN), the seed-pool net's Linear GEMMs at
// batch 32 (fc1 4096->512, fc2 512->10: forward NT, backward-data NN,
// backward-weight TN), and its two convolutions at batch 32 (conv1 3->64 on
// 32x32, conv2 64->64 on 16x16, 3x3, padding 1).
//
// Validate before timing: each op is first checked on a small odd shape of the
// same kind against a naive double loop; a mismatch makes the benchmark report
// an error (SkipWithError) instead of a time. Inputs are random and non-zero.
#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "kernels/conv2d.h"
#include "kernels/gemm.h"

namespace cudp::bench {
namespace {

std::vector<float> random_vector(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = bench_value(seed, i);
  return v;
}

auto reader(const std::vector<float>& v) {
  return [&v](int64_t i) { return static_cast<double>(v[static_cast<size_t>(i)]); };
}

// Validation verdicts, computed once per check name ("" = matched).
const std::string& verdict(const std::string& name, std::string (*check)()) {
  static std::map<std::string, std::string> done;
  auto it = done.find(name);
  if (it == done.end()) {
    std::string result;
    try {
      result = check();
    } catch (const std::exception& e) {
      result = name + ": threw: " + e.what();
    }
    it = done.emplace(name, result).first;
  }
  return it->second;
}

// ---------------------------------------------------------------- validation

std::string check_gemm_layout(GemmLayout layout) {
  const int64_t M = 37, N = 29, K = 53;  // no multiple of any tile
  const auto A = random_vector(M * K, 1), B = random_vector(K * N, 2);
  std::vector<float> C(static_cast<size_t>(M * N), 0.5f);
  cpu::gemm(cpu_context(), layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, C.data());
  Checker check(std::string("cpu gemm ") + gemm_layout_name(layout));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      check.sum(i * N + j, C[static_cast<size_t>(i * N + j)],
                gemm_ref(layout, M, N, K, reader(A), reader(B), i, j));
  return check.message();
}

Conv2dShape small_conv() {
  Conv2dShape s;
  s.N = 2, s.C = 5, s.H = 9, s.W = 7, s.K = 6, s.R = 3, s.S = 3, s.stride = 1, s.padding = 1;
  return s;
}

std::string check_conv_forward() {
  const Conv2dShape s = small_conv();
  const auto x = random_vector(s.x_size(), 3), w = random_vector(s.w_size(), 4);
  std::vector<float> y(static_cast<size_t>(s.y_size()));
  cpu::conv2d_forward(cpu_context(), s, x.data(), w.data(), y.data());
  Checker check("cpu conv2d_forward");
  int64_t i = 0;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < s.P(); ++p)
        for (int64_t q = 0; q < s.Q(); ++q, ++i)
          check.sum(i, y[static_cast<size_t>(i)],
                    conv2d_forward_ref(s, reader(x), reader(w), n, k, p, q));
  return check.message();
}

std::string check_conv_backward_data() {
  const Conv2dShape s = small_conv();
  const auto dy = random_vector(s.y_size(), 5), w = random_vector(s.w_size(), 4);
  std::vector<float> dx(static_cast<size_t>(s.x_size()));
  cpu::conv2d_backward_data(cpu_context(), s, dy.data(), w.data(), dx.data());
  Checker check("cpu conv2d_backward_data");
  int64_t i = 0;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t h = 0; h < s.H; ++h)
        for (int64_t wi = 0; wi < s.W; ++wi, ++i)
          check.sum(i, dx[static_cast<size_t>(i)],
                    conv2d_backward_data_ref(s, reader(dy), reader(w), n, c, h, wi));
  return check.message();
}

std::string check_conv_backward_weight() {
  const Conv2dShape s = small_conv();
  const auto x = random_vector(s.x_size(), 3), dy = random_vector(s.y_size(), 5);
  std::vector<float> dw(static_cast<size_t>(s.w_size()));
  cpu::conv2d_backward_weight(cpu_context(), s, x.data(), dy.data(), dw.data());
  Checker check("cpu conv2d_backward_weight");
  int64_t i = 0;
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t c = 0; c < s.C; ++c)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t t = 0; t < s.S; ++t, ++i)
          check.sum(i, dw[static_cast<size_t>(i)],
                    conv2d_backward_weight_ref(s, reader(x), reader(dy), k, c, r, t));
  return check.message();
}

std::string check_gemm_nn() { return check_gemm_layout(GemmLayout::NN); }
std::string check_gemm_nt() { return check_gemm_layout(GemmLayout::NT); }
std::string check_gemm_tn() { return check_gemm_layout(GemmLayout::TN); }

bool validated(benchmark::State& state, const std::string& name, std::string (*check)()) {
  const std::string& error = verdict(name, check);
  if (error.empty()) return true;
  state.SkipWithError(("not timed, validation failed: " + error).c_str());
  return false;
}

// ---------------------------------------------------------------- benchmarks

void run_gemm(benchmark::State& state, GemmLayout layout, int64_t M, int64_t N, int64_t K) {
  std::string (*checks[])() = {check_gemm_nn, check_gemm_nt, check_gemm_tn};
  if (!validated(state, std::string("gemm_") + gemm_layout_name(layout),
                 checks[static_cast<int>(layout)]))
    return;
  const auto A = random_vector(M * K, 11), B = random_vector(K * N, 12);
  std::vector<float> C(static_cast<size_t>(M * N));
  const Context ctx = cpu_context();
  for (auto _ : state) {
    cpu::gemm(ctx, layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, C.data());
    benchmark::DoNotOptimize(C.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(gemm_flops(M, N, K) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

enum class Pass { Forward, BackwardData, BackwardWeight };

void run_conv(benchmark::State& state, Pass pass, Conv2dShape s) {
  std::string (*checks[])() = {check_conv_forward, check_conv_backward_data,
                               check_conv_backward_weight};
  const char* names[] = {"conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"};
  if (!validated(state, names[static_cast<int>(pass)], checks[static_cast<int>(pass)])) return;
  const auto x = random_vector(s.x_size(), 13), w = random_vector(s.w_size(), 14);
  const auto dy = random_vector(s.y_size(), 15);
  std::vector<float> y(static_cast<size_t>(s.y_size())), dx(x.size()), dw(w.size());
  const Context ctx = cpu_context();
  for (auto _ : state) {
    switch (pass) {
      case Pass::Forward:
        cpu::conv2d_forward(ctx, s, x.data(), w.data(), y.data());
        break;
      case Pass::BackwardData:
        cpu::conv2d_backward_data(ctx, s, dy.data(), w.data(), dx.data());
        break;
      case Pass::BackwardWeight:
        cpu::conv2d_backward_weight(ctx, s, x.data(), dy.data(), dw.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(conv2d_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

Conv2dShape seed_pool_conv(int64_t N, int64_t C, int64_t HW) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = HW, s.W = HW, s.K = 64, s.R = 3, s.S = 3, s.stride = 1, s.padding = 1;
  return s;
}

void register_all() {
  using benchmark::RegisterBenchmark;
  for (int64_t n : {256, 512, 1024}) {
    const std::string name = "BM_cpu_gemm_NN/" + std::to_string(n);
    RegisterBenchmark(name.c_str(), run_gemm, GemmLayout::NN, n, n, n)
        ->Unit(benchmark::kMillisecond);
  }
  // The seed-pool head at batch 32: {name, layout, M, N, K}.
  struct Layer {
    const char* name;
    GemmLayout layout;
    int64_t M, N, K;
  };
  const Layer layers[] = {
      {"fc1_forward", GemmLayout::NT, 32, 512, 4096},
      {"fc1_backward_data", GemmLayout::NN, 32, 4096, 512},
      {"fc1_backward_weight", GemmLayout::TN, 512, 4096, 32},
      {"fc2_forward", GemmLayout::NT, 32, 10, 512},
      {"fc2_backward_data", GemmLayout::NN, 32, 512, 10},
      {"fc2_backward_weight", GemmLayout::TN, 10, 512, 32},
  };
  for (const Layer& l : layers) {
    const std::string name = std::string("BM_cpu_gemm_") + gemm_layout_name(l.layout) + "/" +
                             l.name + "/" + std::to_string(l.M) + "x" + std::to_string(l.N) + "x" +
                             std::to_string(l.K);
    RegisterBenchmark(name.c_str(), run_gemm, l.layout, l.M, l.N, l.K)
        ->Unit(benchmark::kMicrosecond);
  }
  const std::pair<const char*, Conv2dShape> convs[] = {
      {"conv1_32x3x32x32_k64", seed_pool_conv(32, 3, 32)},
      {"conv2_32x64x16x16_k64", seed_pool_conv(32, 64, 16)},
  };
  const std::pair<const char*, Pass> passes[] = {{"forward", Pass::Forward},
                                                 {"backward_data", Pass::BackwardData},
                                                 {"backward_weight", Pass::BackwardWeight}};
  for (const auto& [conv_name, shape] : convs)
    for (const auto& [pass_name, pass] : passes) {
      const std::string name = std::string("BM_cpu_conv2d_") + pass_name + "/" + conv_name;
      RegisterBenchmark(name.c_str(), run_conv, pass, shape)->Unit(benchmark::kMillisecond);
    }
}

}  // namespace
}  // namespace cudp::bench

int main(int argc, char** argv) {
  cudp::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
