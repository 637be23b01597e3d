// Google Benchmark of the CPU ops, version by version and thread count by thread
// count, plus the seed-pool training step on one CPU device.
//
// Run (from the build folder):
//   bench/bench_kernels_cpu                                   # everything (a few minutes)
//   bench/bench_kernels_cpu --version=3 --benchmark_filter=gemm
//   bench/bench_kernels_cpu --benchmark_filter='train_step'
//   bench/bench_kernels_cpu --benchmark_format=json --benchmark_out=cpu.json
// --version=V keeps version V of every op (and the training step).
//
// Names: BM_cpu_<op>/v:<version>/<shape>/threads:<t>, <version> being the number that
// <op>_version() takes (kernels/cpu/versions.h):
//   GEMM    v1 plain tiles, v2 packed + AVX2 micro-kernel, v3 packed + AVX-512 (where present)
//   conv2d  v1 im2col + GEMM v1; v2 im2col + packed GEMM on the AVX2 micro-kernel; v3 the
//           same on the AVX-512 one (where present)
//   relu, maxpool2d, sgd, bias_grad   v1 plain, v2 threads (+ AVX2 for max-pool and SGD)
// v1 ignores ctx.threads, so it runs at threads:1 only. Counters: GFLOP/s (2*M*N*K,
// 2*N*K*P*Q*C*R*S per conv pass), GB/s for the elementwise ops (bytes each must
// move, noted per op), samples/s for the training step (seed-pool, SGD momentum
// 0.9, one CPU device with ctx.threads = t). All rates are over wall time.
//
// Shapes: square GEMMs 256 .. 2048 (NN; v1 up to 1024), the seed-pool net's Linear
// GEMMs at batch 16 (a cpu:2 rank's shard of 32), 32 and 128, its two convolutions
// (conv1 3->64 on 32x32, conv2 64->64 on 16x16, 3x3, padding 1) at batch 32 and
// 128, elementwise ops at conv1's activation size.
//
// Validate before timing: each (op, version) is first checked on a small odd shape
// against a naive double loop (bench_common.h) with 2 threads; a mismatch reports
// an error (SkipWithError) instead of a time.
#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/versions.h"
#include "model/models.h"
#include "model/one_device_trainer.h"

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

// ---------------------------------------------------------------- the ops by version

void gemm_version(int version, int threads, GemmLayout layout, int64_t M, int64_t N, int64_t K,
                  const float* A, const float* B, float* C) {
  cpu::gemm_version(version, cpu_context(threads), layout, M, N, K, 1.0f, A, B, 0.0f, C);
}

enum class Pass { Forward, BackwardData, BackwardWeight };
const char* pass_name(Pass p) {
  return p == Pass::Forward        ? "forward"
         : p == Pass::BackwardData ? "backward_data"
                                   : "backward_weight";
}

// in = x (forward, weight) or dy (data); other = w (forward, data) or dy (weight).
void conv_version(int version, int threads, Pass pass, const Conv2dShape& s, const float* in,
                  const float* other, float* out) {
  const Context ctx = cpu_context(threads);
  switch (pass) {
    case Pass::Forward:
      return cpu::conv2d_forward_version(version, ctx, s, in, other, out);
    case Pass::BackwardData:
      return cpu::conv2d_backward_data_version(version, ctx, s, in, other, out);
    case Pass::BackwardWeight:
      return cpu::conv2d_backward_weight_version(version, ctx, s, in, other, out);
  }
}

// ---------------------------------------------------------------- validation

// Verdicts, computed once per name ("" = matched).
bool validated(benchmark::State& state, const std::string& name,
               const std::function<std::string()>& check) {
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
  if (it->second.empty()) return true;
  state.SkipWithError(("not timed, validation failed: " + it->second).c_str());
  return false;
}

std::string check_gemm(int version, GemmLayout layout) {
  const int64_t M = 37, N = 45, K = 301;  // no multiple of any tile or K block
  const auto A = random_vector(M * K, 1), B = random_vector(K * N, 2);
  std::vector<float> C(static_cast<size_t>(M * N), 0.5f);
  gemm_version(version, 2, layout, M, N, K, A.data(), B.data(), C.data());
  Checker check("cpu gemm v" + std::to_string(version) + " " + gemm_layout_name(layout));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      check.sum(i * N + j, C[static_cast<size_t>(i * N + j)],
                gemm_ref(layout, M, N, K, reader(A), reader(B), i, j));
  return check.message();
}

std::string check_conv(int version, Pass pass) {
  Conv2dShape s;
  s.N = 3, s.C = 5, s.H = 9, s.W = 7, s.K = 6, s.R = 3, s.S = 3, s.stride = 1, s.padding = 1;
  const auto x = random_vector(s.x_size(), 3), w = random_vector(s.w_size(), 4);
  const auto dy = random_vector(s.y_size(), 5);
  Checker check(std::string("cpu conv2d_") + pass_name(pass) + " v" + std::to_string(version));
  const int64_t P = s.P(), Q = s.Q();
  if (pass == Pass::Forward) {
    std::vector<float> y(static_cast<size_t>(s.y_size()));
    conv_version(version, 2, pass, s, x.data(), w.data(), y.data());
    for (int64_t n = 0, i = 0; n < s.N; ++n)
      for (int64_t k = 0; k < s.K; ++k)
        for (int64_t p = 0; p < P; ++p)
          for (int64_t q = 0; q < Q; ++q, ++i)
            check.sum(i, y[static_cast<size_t>(i)],
                      conv2d_forward_ref(s, reader(x), reader(w), n, k, p, q));
  } else if (pass == Pass::BackwardData) {
    std::vector<float> dx(static_cast<size_t>(s.x_size()));
    conv_version(version, 2, pass, s, dy.data(), w.data(), dx.data());
    for (int64_t n = 0, i = 0; n < s.N; ++n)
      for (int64_t c = 0; c < s.C; ++c)
        for (int64_t h = 0; h < s.H; ++h)
          for (int64_t wi = 0; wi < s.W; ++wi, ++i)
            check.sum(i, dx[static_cast<size_t>(i)],
                      conv2d_backward_data_ref(s, reader(dy), reader(w), n, c, h, wi));
  } else {
    std::vector<float> dw(static_cast<size_t>(s.w_size()));
    conv_version(version, 2, pass, s, x.data(), dy.data(), dw.data());
    for (int64_t k = 0, i = 0; k < s.K; ++k)
      for (int64_t c = 0; c < s.C; ++c)
        for (int64_t r = 0; r < s.R; ++r)
          for (int64_t t = 0; t < s.S; ++t, ++i)
            check.sum(i, dw[static_cast<size_t>(i)],
                      conv2d_backward_weight_ref(s, reader(x), reader(dy), k, c, r, t));
  }
  return check.message();
}

// ---------------------------------------------------------------- benchmarks

void set_rate(benchmark::State& state, const char* name, double per_iteration) {
  state.counters[name] =
      benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

void bench_gemm(benchmark::State& state, int version, GemmLayout layout, int64_t M, int64_t N,
                int64_t K) {
  if (!validated(state, "gemm v" + std::to_string(version) + gemm_layout_name(layout),
                 [=] { return check_gemm(version, layout); }))
    return;
  const int threads = static_cast<int>(state.range(0));
  const auto A = random_vector(M * K, 11), B = random_vector(K * N, 12);
  std::vector<float> C(static_cast<size_t>(M * N));
  for (auto _ : state) {
    gemm_version(version, threads, layout, M, N, K, A.data(), B.data(), C.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, "GFLOP/s", gemm_flops(M, N, K) * 1e-9);
}

void bench_conv(benchmark::State& state, int version, Pass pass, Conv2dShape s) {
  if (!validated(state, std::string("conv ") + pass_name(pass) + std::to_string(version),
                 [=] { return check_conv(version, pass); }))
    return;
  const int threads = static_cast<int>(state.range(0));
  const auto x = random_vector(s.x_size(), 13), w = random_vector(s.w_size(), 14);
  const auto dy = random_vector(s.y_size(), 15);
  std::vector<float> out(static_cast<size_t>(std::max({s.x_size(), s.y_size(), s.w_size()})));
  const float* in = pass == Pass::BackwardData ? dy.data() : x.data();
  const float* other = pass == Pass::BackwardWeight ? dy.data() : w.data();
  for (auto _ : state) {
    conv_version(version, threads, pass, s, in, other, out.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, "GFLOP/s", conv2d_flops(s) * 1e-9);
}

// Elementwise ops at conv1's activation size (batch 32: 32 x 64 x 32 x 32 floats).
void bench_elementwise(benchmark::State& state, int v, const std::string& op) {
  const int threads = static_cast<int>(state.range(0));
  const Context ctx = cpu_context(threads);
  const int64_t n = 32 * 64 * 32 * 32;
  MaxPool2dShape pool;
  pool.N = 32, pool.C = 64, pool.H = 32, pool.W = 32;
  const auto a = random_vector(n, 21), b = random_vector(n, 22);
  std::vector<float> out(static_cast<size_t>(n)), buf = random_vector(n, 23), p = a;
  std::vector<int32_t> argmax(static_cast<size_t>(pool.y_size()));
  cpu::maxpool2d_forward_version(1, ctx, pool, a.data(), out.data(), argmax.data());
  SgdOptions sgd;
  sgd.lr = 1e-9f, sgd.momentum = 0.9f;
  double bytes = 0;  // the fewest bytes the op must move
  for (auto _ : state) {
    if (op == "relu_forward") {  // read x, write y
      cpu::relu_forward_version(v, ctx, n, a.data(), out.data());
      bytes = 8.0 * n;
    } else if (op == "relu_backward") {  // read y, dy, write dx
      cpu::relu_backward_version(v, ctx, n, a.data(), b.data(), out.data());
      bytes = 12.0 * n;
    } else if (op == "maxpool2d_forward") {  // read x, write y and argmax (a quarter each)
      cpu::maxpool2d_forward_version(v, ctx, pool, a.data(), out.data(), argmax.data());
      bytes = 4.0 * n + 8.0 * pool.y_size();
    } else if (op == "maxpool2d_backward") {  // read dy and argmax, write dx
      cpu::maxpool2d_backward_version(v, ctx, pool, b.data(), argmax.data(), out.data());
      bytes = 4.0 * n + 8.0 * pool.y_size();
    } else if (op == "bias_grad") {  // read dy
      cpu::bias_grad_version(v, ctx, 32, 64, 1024, b.data(), out.data());
      bytes = 4.0 * n;
    } else {  // sgd_momentum: read p, g, buf, write p, buf
      cpu::sgd_step_version(v, ctx, n, p.data(), b.data(), buf.data(), sgd, false);
      bytes = 20.0 * n;
    }
    benchmark::ClobberMemory();
  }
  set_rate(state, "GB/s", bytes * 1e-9);
}

// One SGD step of seed-pool on one CPU device with ctx.threads = t (model/trainer.h).
void bench_train_step(benchmark::State& state, int64_t batch) {
  const int threads = static_cast<int>(state.range(0));
  const Shape input = {3, 32, 32};
  const auto x = random_vector(batch * 3 * 32 * 32, 31);
  std::vector<int32_t> y(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) y[static_cast<size_t>(i)] = bench_label(32, i, 10);
  auto net = build_model("seed-pool", input, cpu_device(0));
  net->init(0);
  SgdOptions sgd;
  sgd.lr = 0.001f, sgd.momentum = 0.9f;
  OneDeviceTrainer trainer(*net, cpu_context(threads), sgd);
  for (int i = 0; i < 3; ++i) trainer.step(x.data(), y.data(), batch);  // warm-up: buffers
  for (auto _ : state) trainer.step(x.data(), y.data(), batch);
  set_rate(state, "samples/s", static_cast<double>(batch));
}

// ---------------------------------------------------------------- registration

void add(const std::string& name, int version, std::function<void(benchmark::State&)> run,
         benchmark::TimeUnit unit) {
  auto* b = benchmark::RegisterBenchmark(name.c_str(), run)->ArgName("threads")->Arg(1);
  if (version != 1) b->Arg(2);  // v1 ignores ctx.threads
  b->UseRealTime()->Unit(unit);
}

Conv2dShape seed_pool_conv(int64_t N, int64_t C, int64_t HW) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = HW, s.W = HW, s.K = 64, s.R = 3, s.S = 3, s.stride = 1, s.padding = 1;
  return s;
}

void register_all(int only_version) {
  // The versions 1..count that --version keeps and this CPU can run.
  auto versions = [&](int count, bool (*available)(int)) {
    std::vector<int> out;
    for (int v = 1; v <= count; ++v)
      if ((only_version == 0 || v == only_version) && (!available || available(v)))
        out.push_back(v);
    return out;
  };
  const auto ms = benchmark::kMillisecond, us = benchmark::kMicrosecond;
  for (int v : versions(cpu::gemm_versions(), cpu::gemm_version_available))
    for (int64_t n : {256, 512, 1024, 2048})
      if (v > 1 || n <= 1024)
        add(
            "BM_cpu_gemm_NN/v:" + std::to_string(v) + "/" + std::to_string(n), v,
            [=](benchmark::State& st) { bench_gemm(st, v, GemmLayout::NN, n, n, n); }, ms);
  struct Layer {
    const char* name;
    GemmLayout layout;
    int64_t M, N, K;  // M or K is the batch
  };
  for (int64_t batch : {16, 32, 128}) {
    const Layer layers[] = {{"fc1_forward", GemmLayout::NT, batch, 512, 4096},
                            {"fc1_backward_data", GemmLayout::NN, batch, 4096, 512},
                            {"fc1_backward_weight", GemmLayout::TN, 512, 4096, batch},
                            {"fc2_forward", GemmLayout::NT, batch, 10, 512},
                            {"fc2_backward_data", GemmLayout::NN, batch, 512, 10},
                            {"fc2_backward_weight", GemmLayout::TN, 10, 512, batch}};
    for (int v : versions(cpu::gemm_versions(), cpu::gemm_version_available))
      for (const Layer& l : layers)
        add(
            std::string("BM_cpu_gemm_") + gemm_layout_name(l.layout) + "/v:" + std::to_string(v) +
                "/" + l.name + "/" + std::to_string(l.M) + "x" + std::to_string(l.N) + "x" +
                std::to_string(l.K),
            v, [=](benchmark::State& st) { bench_gemm(st, v, l.layout, l.M, l.N, l.K); }, us);
  }
  for (int64_t batch : {32, 128})
    for (const auto& [conv_name, shape] :
         {std::make_pair("conv1_3x32x32_k64", seed_pool_conv(batch, 3, 32)),
          std::make_pair("conv2_64x16x16_k64", seed_pool_conv(batch, 64, 16))})
      for (Pass pass : {Pass::Forward, Pass::BackwardData, Pass::BackwardWeight})
        for (int v : versions(cpu::conv2d_versions(), cpu::conv2d_version_available))
          add(
              std::string("BM_cpu_conv2d_") + pass_name(pass) + "/v:" + std::to_string(v) + "/" +
                  conv_name + "/batch:" + std::to_string(batch),
              v, [=, s = shape](benchmark::State& st) { bench_conv(st, v, pass, s); }, ms);
  const std::pair<const char*, int> elementwise[] = {
      {"relu_forward", cpu::relu_versions()},
      {"relu_backward", cpu::relu_versions()},
      {"maxpool2d_forward", cpu::maxpool2d_versions()},
      {"maxpool2d_backward", cpu::maxpool2d_versions()},
      {"bias_grad", cpu::bias_versions()},
      {"sgd_momentum", cpu::sgd_versions()}};
  for (const auto& [op, count] : elementwise)
    for (int v : versions(count, nullptr))
      add(
          std::string("BM_cpu_") + op + "/v:" + std::to_string(v) + "/2097152", v,
          [=](benchmark::State& st) { bench_elementwise(st, v, op); }, us);
  for (int64_t batch : {32, 128})
    add(
        "BM_cpu_train_step/seed_pool/batch:" + std::to_string(batch), 0,
        [=](benchmark::State& st) { bench_train_step(st, batch); }, ms);
}

}  // namespace
}  // namespace cudp::bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  const int only_version = cudp::bench::take_version_flag(argc, argv, args);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::AddCustomContext("cpu_isa", cudp::cpu::cpu_isa_name(cudp::cpu::active_cpu_isa()));
  cudp::bench::register_all(only_version);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
