// GEMM and conv2d benchmarks of bench_kernels_cuda (see bench_kernels_cuda.cu
// for how to run them and what the names and counters mean).
//
// GEMM: every version and layout at 1024^3, NN at the goal's 4096^3, NN 8192^3
// (the 90%-of-cuBLAS goal's second shape) for the default version and v6 only (v1
// would take seconds per call there), and the seed-pool head's three GEMMs at
// batch 32. conv2d: every version of the three
// passes at the goal's shape (N=128, C=K=64, 32x32, 3x3, pad 1) and at
// seed-pool's conv1/conv2 at batch 32. Each version is checked against the CPU
// twin on small odd shapes (conv: also stride 2), then on the timed shape by
// sampled elements recomputed in double, before it is timed. Bytes (GB/s is
// also reported) count both operands read once and the result written once.
#include <benchmark/benchmark.h>

#include <string>
#include <tuple>
#include <vector>

#include "bench/cuda_bench.cuh"
#include "kernels/cpu/versions.h"
#include "kernels/cuda/versions.h"
#include "kernels/tf32.h"

namespace cudp::bench {
namespace {

// ---------------------------------------------------------------- GEMM

// The op's name in benchmark keys: "gemm_NN", "gemm_tf32_NN" (the peak is picked by it).
std::string gemm_op(Math math, GemmLayout layout) {
  return std::string(math == Math::tf32 ? "gemm_tf32_" : "gemm_") + gemm_layout_name(layout);
}

void gemm_run(Math math, int v, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
              int64_t K, const float* A, const float* B, float* C) {
  if (math == Math::tf32)
    cuda::gemm_tf32_version(v, ctx, layout, M, N, K, 1.0f, A, B, 0.0f, C);
  else
    cuda::gemm_version(v, ctx, layout, M, N, K, 1.0f, A, B, 0.0f, C);
}

std::string gemm_small_check(Math math, int v, GemmLayout layout) {
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{67, 45, 33}, {128, 96, 64}}) {
    const auto A = host_values(201, M * K), B = host_values(202, K * N);
    std::vector<float> cpu_c(static_cast<size_t>(M * N));
    if (math == Math::tf32)  // the twin rounds as the kernel; the bound is kernels/tf32.h's
      cpu::gemm_tf32_version(1, cpu_context(), layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f,
                             cpu_c.data());
    else
      cpu::gemm(cpu_context(), layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, cpu_c.data());
    auto dA = upload(A), dB = upload(B);
    auto dC = poisoned(M * N);  // beta == 0: the NaN must not be read
    gemm_run(math, v, gpu().ctx(), layout, M, N, K, dA.data(), dB.data(), dC.data());
    const std::string what = gemm_op(math, layout) + " v" + std::to_string(v) + " " +
                             std::to_string(M) + "x" + std::to_string(N) + "x" +
                             std::to_string(K) + " vs the CPU twin";
    // |values| <= 1 (bench_value), so sum |a_i b_i| <= K.
    const double atol = math == Math::tf32 ? tf32_sum_bound(K, double(K)) : 1e-4;
    const std::string error =
        compare(what, download(dC.data(), M * N), cpu_c, atol, math == Math::tf32 ? 0.0 : 1e-4);
    if (!error.empty()) return error;
  }
  return "";
}

void bench_gemm(benchmark::State& state, Math math, int v, GemmLayout layout, int64_t M,
                int64_t N, int64_t K) {
  const std::string key = gemm_op(math, layout) + "/v" + std::to_string(v);
  if (!validated(state, key, [&] { return gemm_small_check(math, v, layout); })) return;
  const float* A = gpu().input(211, M * K);
  const float* B = gpu().input(212, K * N);
  float* C = gpu().output("gemm_C", M * N);
  auto run = [&] { gemm_run(math, v, gpu().ctx(), layout, M, N, K, A, B, C); };
  const std::string shape = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
  if (!validated(state, key + "/" + shape, [&] {
        run();
        const auto got = download(C, M * N);
        Checker check(key + " " + shape + " sampled vs double");
        // tf32: the reference sums the rounded operands, in double.
        auto a = [math](int64_t i) { return operand(math, bench_value(211, i)); };
        auto b = [math](int64_t i) { return operand(math, bench_value(212, i)); };
        for (int64_t e : sample_indices(M * N))
          check.sum(math, e, got[static_cast<size_t>(e)],
                    gemm_ref(layout, M, N, K, a, b, e / N, e % N));
        return check.message();
      }))
    return;
  time_gpu(state, run, {gemm_flops(M, N, K), 4.0 * (M * K + K * N + M * N)});
}

// ---------------------------------------------------------------- conv2d

enum class Pass { Forward, BackwardData, BackwardWeight };
const char* pass_name(Pass p) {
  return p == Pass::Forward        ? "forward"
         : p == Pass::BackwardData ? "backward_data"
                                   : "backward_weight";
}

Conv2dShape conv_shape(int64_t N, int64_t C, int64_t HW, int64_t K, int64_t stride = 1) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = HW, s.W = HW, s.K = K, s.R = 3, s.S = 3, s.stride = stride, s.padding = 1;
  return s;
}
std::string conv_name(const Conv2dShape& s) {
  return "N" + std::to_string(s.N) + "_C" + std::to_string(s.C) + "_" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_K" + std::to_string(s.K) + "_R" + std::to_string(s.R) + "_pad" +
         std::to_string(s.padding);
}

// Runs one pass: forward reads (x, w) -> y; backward-data (dy, w) -> dx; backward-weight (x, dy) ->
// dw.
void conv_run(Math math, int v, Pass p, const Context& ctx, const Conv2dShape& s, const float* x,
              const float* w, const float* dy, float* out) {
  if (math == Math::tf32) {
    if (p == Pass::Forward) cuda::conv2d_forward_tf32_version(v, ctx, s, x, w, out);
    if (p == Pass::BackwardData) cuda::conv2d_backward_data_tf32_version(v, ctx, s, dy, w, out);
    if (p == Pass::BackwardWeight)
      cuda::conv2d_backward_weight_tf32_version(v, ctx, s, x, dy, out);
    return;
  }
  if (p == Pass::Forward) cuda::conv2d_forward_version(v, ctx, s, x, w, out);
  if (p == Pass::BackwardData) cuda::conv2d_backward_data_version(v, ctx, s, dy, w, out);
  if (p == Pass::BackwardWeight) cuda::conv2d_backward_weight_version(v, ctx, s, x, dy, out);
}
int64_t conv_out_size(Pass p, const Conv2dShape& s) {
  return p == Pass::Forward ? s.y_size() : p == Pass::BackwardData ? s.x_size() : s.w_size();
}

std::string conv_op(Math math, Pass p) {
  return std::string(math == Math::tf32 ? "conv2d_tf32_" : "conv2d_") + pass_name(p);
}
int64_t conv_depth(Pass p, const Conv2dShape& s) {
  return p == Pass::Forward        ? s.C * s.R * s.S
         : p == Pass::BackwardData ? s.K * s.R * s.S
                                   : s.N * s.P() * s.Q();
}

std::string conv_small_check(Math math, int v, Pass p) {
  Conv2dShape odd = conv_shape(3, 5, 9, 7), strided = conv_shape(2, 4, 11, 6, 2);
  odd.W = 7;  // H != W
  for (const Conv2dShape& s : {odd, strided}) {
    const auto x = host_values(301, s.x_size()), w = host_values(302, s.w_size());
    const auto dy = host_values(303, s.y_size());
    std::vector<float> want(static_cast<size_t>(conv_out_size(p, s)));
    Context cpu = cpu_context();
    cpu.math = math;  // tf32: the public CPU op runs the rounding twin
    if (p == Pass::Forward) cpu::conv2d_forward(cpu, s, x.data(), w.data(), want.data());
    if (p == Pass::BackwardData)
      cpu::conv2d_backward_data(cpu, s, dy.data(), w.data(), want.data());
    if (p == Pass::BackwardWeight)
      cpu::conv2d_backward_weight(cpu, s, x.data(), dy.data(), want.data());
    auto dx = upload(x), dw = upload(w), ddy = upload(dy);
    auto out = poisoned(conv_out_size(p, s));
    conv_run(math, v, p, gpu().ctx(), s, dx.data(), dw.data(), ddy.data(), out.data());
    const int64_t depth = conv_depth(p, s);  // |values| <= 1: sum |a_i b_i| <= depth
    const std::string error =
        compare(conv_op(math, p) + " v" + std::to_string(v) + " " + conv_name(s) + " stride " +
                    std::to_string(s.stride) + " vs the CPU twin",
                download(out.data(), conv_out_size(p, s)), want,
                math == Math::tf32 ? tf32_sum_bound(depth, double(depth)) : 1e-4,
                math == Math::tf32 ? 0.0 : 1e-4);
    if (!error.empty()) return error;
  }
  return "";
}

// The timed shape, sampled: each output element recomputed from bench_value in double.
std::string conv_sampled_check(Math math, int v, Pass p, const Conv2dShape& s,
                               const float* out) {
  const auto got = download(out, conv_out_size(p, s));
  Checker check(conv_op(math, p) + " v" + std::to_string(v) + " " + conv_name(s) +
                " sampled vs double");
  auto x = [math](int64_t i) { return operand(math, bench_value(311, i)); };
  auto w = [math](int64_t i) { return operand(math, bench_value(312, i)); };
  auto dy = [math](int64_t i) { return operand(math, bench_value(313, i)); };
  for (int64_t e : sample_indices(conv_out_size(p, s), 48)) {
    const float g = got[static_cast<size_t>(e)];
    if (p == Pass::Forward) {  // e = ((n*K + k)*P + p)*Q + q
      const int64_t q = e % s.Q(), pp = e / s.Q() % s.P(), k = e / (s.P() * s.Q()) % s.K;
      check.sum(math, e, g, conv2d_forward_ref(s, x, w, e / (s.K * s.P() * s.Q()), k, pp, q));
    } else if (p == Pass::BackwardData) {  // e = ((n*C + c)*H + h)*W + w
      const int64_t wi = e % s.W, h = e / s.W % s.H, c = e / (s.H * s.W) % s.C;
      check.sum(math, e, g, conv2d_backward_data_ref(s, dy, w, e / (s.C * s.H * s.W), c, h, wi));
    } else {  // e = ((k*C + c)*R + r)*S + t
      const int64_t t = e % s.S, r = e / s.S % s.R, c = e / (s.R * s.S) % s.C;
      check.sum(math, e, g, conv2d_backward_weight_ref(s, x, dy, e / (s.C * s.R * s.S), c, r, t));
    }
  }
  return check.message();
}

void bench_conv(benchmark::State& state, Math math, int v, Pass p, Conv2dShape s) {
  const std::string key = conv_op(math, p) + "/v" + std::to_string(v);
  if (!validated(state, key, [&] { return conv_small_check(math, v, p); })) return;
  const float* x = gpu().input(311, s.x_size());
  const float* w = gpu().input(312, s.w_size());
  const float* dy = gpu().input(313, s.y_size());
  float* out = gpu().output(std::string("conv_") + pass_name(p), conv_out_size(p, s));
  auto run = [&] { conv_run(math, v, p, gpu().ctx(), s, x, w, dy, out); };
  if (!validated(state, key + "/" + conv_name(s), [&] {
        run();
        return conv_sampled_check(math, v, p, s, out);
      }))
    return;
  // Bytes: the two operands read once, the result written once.
  const double bytes = 4.0 * (s.x_size() + s.w_size() + s.y_size());
  time_gpu(state, run, {conv2d_flops(s), bytes});
}

}  // namespace

void register_gemm_conv(int only_version) {
  auto versions = [&](int count) { return versions_to_run(count, only_version); };
  struct G {
    GemmLayout layout;
    int64_t M, N, K;
    bool fast_versions_only = false;  // the default and v6 (v6 is not yet the default)
  };
  std::vector<G> gemms{
      {GemmLayout::NN, 8192, 8192, 8192, true},
      {GemmLayout::NN, 4096, 4096, 4096},
      {GemmLayout::NN, 1024, 1024, 1024},
      {GemmLayout::NT, 1024, 1024, 1024},
      {GemmLayout::TN, 1024, 1024, 1024},
      // the seed-pool head at batch 32: fc1 forward, backward-data, backward-weight
      {GemmLayout::NT, 32, 512, 4096},
      {GemmLayout::NN, 32, 4096, 512},
      {GemmLayout::TN, 512, 4096, 32}};
  for (const G& g : gemms)
    for (int v : versions(cuda::gemm_versions())) {
      if (g.fast_versions_only && v != cuda::gemm_default_version() && v != 6) continue;
      const std::string op = std::string("gemm_") + gemm_layout_name(g.layout);
      add_benchmark(version_name(op.c_str(), v) + std::to_string(g.M) + "x" + std::to_string(g.N) +
                        "x" + std::to_string(g.K),
                    v == cuda::gemm_default_version(),
                    [=](benchmark::State& st) {
                      bench_gemm(st, Math::fp32, v, g.layout, g.M, g.N, g.K);
                    });
    }
  // The tf32 math mode's versions (their own numbering and default), same shapes but 8192^3.
  for (const G& g : gemms)
    for (int v : versions(cuda::gemm_tf32_versions())) {
      if (g.fast_versions_only) continue;
      add_benchmark(version_name(gemm_op(Math::tf32, g.layout), v) + std::to_string(g.M) + "x" +
                        std::to_string(g.N) + "x" + std::to_string(g.K),
                    v == cuda::gemm_tf32_default_version(), [=](benchmark::State& st) {
                      bench_gemm(st, Math::tf32, v, g.layout, g.M, g.N, g.K);
                    });
    }
  // The goal's shape, then seed-pool's two convolutions at batch 32.
  for (const Conv2dShape& s :
       {conv_shape(128, 64, 32, 64), conv_shape(32, 3, 32, 64), conv_shape(32, 64, 16, 64)})
    for (Pass p : {Pass::Forward, Pass::BackwardData, Pass::BackwardWeight})
      for (Math math : {Math::fp32, Math::tf32}) {
        const bool tf32 = math == Math::tf32;
        for (int v : versions(tf32 ? cuda::conv2d_tf32_versions() : cuda::conv2d_versions()))
          add_benchmark(version_name(conv_op(math, p), v) + conv_name(s),
                        v == (tf32 ? cuda::conv2d_tf32_default_version()
                                   : cuda::conv2d_default_version()),
                        [=](benchmark::State& st) { bench_conv(st, math, v, p, s); });
      }
}

}  // namespace cudp::bench
