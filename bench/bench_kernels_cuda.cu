// Google Benchmark of every CUDA kernel and every numbered version, with the
// shapes of the CUDA kernels issue's goals, plus a float4 copy kernel (the
// bandwidth ceiling) and one seed-pool training step, eager and as a CUDA graph.
//
// Run (from the build folder; tools/gpu_check.sh runs it on a lent GPU):
//   bench/bench_kernels_cuda                                  # everything
//   bench/bench_kernels_cuda --version=4 --benchmark_filter=gemm
//   bench/bench_kernels_cuda --benchmark_filter='BM_gemm_NN/v:4/'
//   bench/bench_kernels_cuda --benchmark_format=json --benchmark_out=cuda.json
// --version=V keeps version V of every versioned op (and the unversioned
// benchmarks). Without a GPU it prints why and exits 0.
//
// Names: BM_<op>/v:<version>/<shape>, e.g. BM_gemm_NN/v:4/4096x4096x4096 (MxNxK),
// BM_conv2d_forward/v:2/N128_C64_32x32_K64_R3_pad1. The default version of each
// op carries the label "default". Counters (from the median iteration, see
// bench/cuda_bench.cuh): GFLOP/s for GEMM and conv (2*M*N*K, 2*N*K*P*Q*C*R*S),
// GB/s for the rest, counting the fewest bytes each must move (noted per op);
// pct_peak beside GFLOP/s: the row's share of the card's peak, TF32 for names
// containing "tf32", FP32 otherwise (bench/gpu_peak.h; the SM count, max SM
// clock and both peaks are in the JSON's context).
//
// Validate before timing: every (op, version) is checked against its CPU twin
// on small odd shapes, then on the timed shape itself by sampled elements
// recomputed on the host in double (inputs come from bench_value, so the host
// knows them without a copy); a mismatch reports an error and no time.
//
// This file: the copy ceiling, ReLU, max-pool, cross-entropy, SGD, axpy, bias
// and the training step; GEMM and conv2d are in bench_cuda_gemm_conv.cu, the
// timing harness in cuda_bench.cuh.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "bench/cuda_bench.cuh"
#include "kernels/axpy.h"
#include "kernels/bias.h"
#include "kernels/cuda/versions.h"
#include "model/models.h"
#include "model/one_device_trainer.h"
#include "parallel/parallel_trainer.h"
#include "runtime/cuda_info.h"

namespace cudp::bench {
namespace {

// ---------------------------------------------------------------- float4 copy: the ceiling
// Each thread moves 4 float4 (64 bytes) with all four loads issued before the
// first store; n must be a multiple of 16 floats (the benchmark's is).
__global__ void copy_float4_kernel(const float4* __restrict__ x, float4* __restrict__ y,
                                   int64_t n4) {
  const int64_t base = (blockIdx.x * static_cast<int64_t>(blockDim.x)) * 4 + threadIdx.x;
  float4 v[4];
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    const int64_t i = base + u * blockDim.x;  // coalesced: a warp reads 512 contiguous bytes
    if (i < n4) v[u] = x[i];
  }
#pragma unroll
  for (int u = 0; u < 4; ++u) {
    const int64_t i = base + u * blockDim.x;
    if (i < n4) y[i] = v[u];
  }
}

void copy_float4(const float* x, float* y, int64_t n) {
  const int64_t n4 = n / 4;
  const unsigned blocks = static_cast<unsigned>((n4 + 1023) / 1024);
  copy_float4_kernel<<<blocks, 256, 0, gpu().stream()>>>(reinterpret_cast<const float4*>(x),
                                                         reinterpret_cast<float4*>(y), n4);
  CUDP_LAUNCH_CHECK("copy_float4_kernel", gpu().stream());
}

constexpr int64_t kBig = int64_t{64} << 20;  // 64M floats = 256 MiB per buffer
std::string mib(int64_t floats) { return std::to_string(floats * 4 >> 20) + "MiB"; }

void bench_copy(benchmark::State& state) {
  const float* x = gpu().input(1, kBig);
  float* y = gpu().output("copy_y", kBig);
  if (!validated(state, "copy", [&] {
        copy_float4(x, y, kBig);
        const auto got = download(y, kBig);
        Checker check("copy_float4");
        for (int64_t i : sample_indices(kBig, 4096))
          check.value(i, got[static_cast<size_t>(i)], bench_value(1, i), 0, 0);
        return check.message();
      }))
    return;
  time_gpu(state, [&] { copy_float4(x, y, kBig); }, {0, 8.0 * kBig});  // read + write
}

// ---------------------------------------------------------------- ReLU and max-pool

void bench_relu(benchmark::State& state, int v, bool backward) {
  const int64_t n = kBig;
  const std::string key =
      std::string("relu_") + (backward ? "backward" : "forward") + "/v" + std::to_string(v);
  auto run_on = [&](const Context& ctx, int64_t m, const float* a, const float* b, float* out) {
    if (backward)
      cuda::relu_backward_version(v, ctx, m, a, b, out);
    else
      cuda::relu_forward_version(v, ctx, m, a, out);
  };
  if (!validated(state, key, [&]() -> std::string {
        // 4099 elements at offset 0 and 1: the vector path, its tail, and the unaligned path.
        for (int offset : {0, 1}) {
          const int64_t m = 4099;
          const auto a = host_values(401, m + 1), b = host_values(402, m + 1);
          std::vector<float> want(static_cast<size_t>(m));
          if (backward)
            cpu::relu_backward(cpu_context(), m, a.data() + offset, b.data() + offset, want.data());
          else
            cpu::relu_forward(cpu_context(), m, a.data() + offset, want.data());
          auto da = upload(a), db = upload(b);
          auto out = poisoned(m + 1);
          run_on(gpu().ctx(), m, da.data() + offset, db.data() + offset, out.data() + offset);
          auto got = download(out.data() + offset, m);
          const std::string e =
              compare(key + " n=4099 offset " + std::to_string(offset), got, want, 0, 0);
          if (!e.empty()) return e;
        }
        return "";
      }))
    return;
  const float* a = gpu().input(411, n);  // x (forward) or y (backward): half negative
  const float* b = gpu().input(412, n);  // dy
  float* out = gpu().output("relu_out", n);
  auto run = [&] { run_on(gpu().ctx(), n, a, b, out); };
  if (!validated(state, key + "/" + mib(n), [&] {
        run();
        const auto got = download(out, n);
        Checker check(key + " " + mib(n) + " sampled");
        for (int64_t i : sample_indices(n, 4096)) {
          const float ai = bench_value(411, i), bi = bench_value(412, i);
          check.value(i, got[static_cast<size_t>(i)],
                      backward ? (ai > 0 ? bi : 0.0f) : std::max(ai, 0.0f), 0, 0);
        }
        return check.message();
      }))
    return;
  // Bytes: forward reads x, writes y; backward reads y and dy, writes dx.
  time_gpu(state, run, {0, 4.0 * n * (backward ? 3 : 2)});
}

MaxPool2dShape big_pool() {  // 256 x 64 x 64 x 64 floats = 256 MiB in
  MaxPool2dShape s;
  s.N = 256, s.C = 64, s.H = 64, s.W = 64, s.kernel = 2, s.stride = 2;
  return s;
}
std::string pool_name(const MaxPool2dShape& s) {
  return std::to_string(s.N) + "x" + std::to_string(s.C) + "x" + std::to_string(s.H) + "x" +
         std::to_string(s.W) + "_k" + std::to_string(s.kernel) + "s" + std::to_string(s.stride);
}

std::string pool_small_check(int v, bool backward) {
  MaxPool2dShape a, b;
  a.N = 2, a.C = 3, a.H = 9, a.W = 7;  // odd: the last row and column are dropped
  b = a, b.kernel = 3, b.stride = 2;   // overlapping windows
  for (const MaxPool2dShape& s : {a, b}) {
    const auto x = host_values(501, s.x_size()), dy = host_values(502, s.y_size());
    std::vector<float> y(static_cast<size_t>(s.y_size())), dx(static_cast<size_t>(s.x_size()));
    std::vector<int32_t> arg(y.size());
    cpu::maxpool2d_forward(cpu_context(), s, x.data(), y.data(), arg.data());
    cpu::maxpool2d_backward(cpu_context(), s, dy.data(), arg.data(), dx.data());
    auto dxin = upload(x), ddy = upload(dy), dyout = poisoned(s.y_size()),
         ddx = poisoned(s.x_size());
    Buffer<int32_t> darg(cuda_device(0), arg.size());
    gpu().poison(darg.data(), s.y_size() * 4);
    cuda::maxpool2d_forward_version(v, gpu().ctx(), s, dxin.data(), dyout.data(), darg.data());
    const std::string what = "maxpool2d v" + std::to_string(v) + " " + pool_name(s);
    std::string e;
    if (!backward) {
      e = compare(what + " forward vs the CPU twin", download(dyout.data(), s.y_size()), y, 0, 0);
      if (e.empty() && download(darg.data(), s.y_size()) != arg)
        e = what + ": argmax differs from the CPU twin";
    } else {
      auto garg = upload(arg);  // the CPU's argmax, so backward is checked on its own
      cuda::maxpool2d_backward_version(v, gpu().ctx(), s, ddy.data(), garg.data(), ddx.data());
      e = compare(what + " backward vs the CPU twin", download(ddx.data(), s.x_size()), dx, 1e-6,
                  1e-6);
    }
    if (!e.empty()) return e;
  }
  return "";
}

void bench_pool(benchmark::State& state, int v, bool backward) {
  const MaxPool2dShape s = big_pool();
  const std::string key =
      std::string("maxpool2d_") + (backward ? "backward" : "forward") + "/v" + std::to_string(v);
  if (!validated(state, key, [&] { return pool_small_check(v, backward); })) return;
  const float* x = gpu().input(511, s.x_size());
  const float* dy = gpu().input(512, s.y_size());
  float* y = gpu().output("pool_y", s.y_size());
  float* dx = gpu().output("pool_dx", s.x_size());
  int32_t* arg = gpu().output<int32_t>("pool_argmax", s.y_size());
  // Backward needs the argmax of this x: the default forward writes it once (untimed).
  if (backward)
    cuda::maxpool2d_forward_version(cuda::maxpool2d_default_version(), gpu().ctx(), s, x, y, arg);
  auto run = [&] {
    if (backward)
      cuda::maxpool2d_backward_version(v, gpu().ctx(), s, dy, arg, dx);
    else
      cuda::maxpool2d_forward_version(v, gpu().ctx(), s, x, y, arg);
  };
  if (!validated(state, key + "/" + pool_name(s), [&] {
        run();
        Checker check(key + " " + pool_name(s) + " sampled");
        const auto gy = download(y, s.y_size());
        const auto ga = download(arg, s.y_size());
        const auto gdx = backward ? download(dx, s.x_size()) : std::vector<float>{};
        const int64_t P = s.P(), Q = s.Q();
        for (int64_t e : sample_indices(s.y_size(), 2048)) {  // e = (plane*P + p)*Q + q
          const int64_t plane = e / (P * Q), p = e / Q % P, q = e % Q;
          int64_t best = -1;
          float top = 0;
          for (int64_t r = 0; r < s.kernel; ++r)  // first maximum in row-major window order
            for (int64_t t = 0; t < s.kernel; ++t) {
              const int64_t h = p * s.stride + r, w = q * s.stride + t;
              const float xv = bench_value(511, plane * s.H * s.W + h * s.W + w);
              if (best < 0 || xv > top) best = h * s.W + w, top = xv;
            }
          check.value(e, gy[static_cast<size_t>(e)], top, 0, 0);
          check.value(e, static_cast<float>(ga[static_cast<size_t>(e)]), double(best), 0, 0);
          if (backward)  // 2x2 stride 2: each input has one window, dy lands on its argmax
            check.value(e, gdx[static_cast<size_t>(plane * s.H * s.W + best)], bench_value(512, e),
                        0, 0);
        }
        return check.message();
      }))
    return;
  // Bytes: forward reads x, writes y and argmax; backward reads dy and argmax, writes dx.
  time_gpu(state, run, {0, 4.0 * (s.x_size() + 2 * s.y_size())});
}

// ---------------------------------------------------------------- cross-entropy

std::string ce_check(int v, int64_t N, int64_t classes, float scale, bool with_ignored) {
  auto logits = host_values(601, N * classes, scale);
  std::vector<int32_t> targets(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) targets[static_cast<size_t>(i)] = bench_label(602, i, classes);
  if (with_ignored) targets[1] = -100;
  CrossEntropyOptions options;
  float cpu_loss = 0;
  int32_t cpu_bad = 0;
  std::vector<float> cpu_grad(logits.size());
  cpu::cross_entropy(cpu_context(), N, classes, logits.data(), targets.data(), options, &cpu_loss,
                     cpu_grad.data(), &cpu_bad);
  auto dl = upload(logits);
  auto dt = upload(targets);
  auto dgrad = poisoned(N * classes), dloss = poisoned(2);
  Buffer<int32_t> dbad(cuda_device(0), 1);
  cuda::cross_entropy_version(v, gpu().ctx(), N, classes, dl.data(), dt.data(), options,
                              dloss.data(), dgrad.data(), dbad.data());
  const std::string what = "cross_entropy v" + std::to_string(v) + " " + std::to_string(N) + "x" +
                           std::to_string(classes);
  const float loss = download(dloss.data(), 1)[0];
  const int32_t bad = download(dbad.data(), 1)[0];
  if (bad != cpu_bad)
    return what + ": first_bad_row " + std::to_string(bad) + ", CPU " + std::to_string(cpu_bad);
  Checker check(what + " loss vs the CPU twin");
  check.value(-1, loss, cpu_loss, 1e-6, 1e-5);
  if (!check.ok()) return check.message();
  return compare(what + " dlogits vs the CPU twin", download(dgrad.data(), N * classes), cpu_grad,
                 1e-8, 1e-4);
}

void bench_cross_entropy(benchmark::State& state, int v) {
  const int64_t N = 8192, classes = 1000;
  const std::string key = "cross_entropy/v" + std::to_string(v);
  if (!validated(state, key, [&] { return ce_check(v, 37, 11, 4.0f, true); })) return;
  // The timed shape is checked in full against the CPU twin (8M elements: cheap).
  if (!validated(state, key + "/8192x1000", [&] { return ce_check(v, N, classes, 4.0f, false); }))
    return;
  const float* logits = gpu().input(611, N * classes, 4.0f);
  const int32_t* targets = gpu().labels(612, N, classes);
  float* grad = gpu().output("ce_grad", N * classes);
  float* loss = gpu().output("ce_loss", 1);
  int32_t* bad = gpu().output<int32_t>("ce_bad", 1);
  auto run = [&] {
    cuda::cross_entropy_version(v, gpu().ctx(), N, classes, logits, targets, CrossEntropyOptions{},
                                loss, grad, bad);
  };
  // Bytes: logits read, dlogits written, targets read.
  time_gpu(state, run, {0, 8.0 * N * classes + 4.0 * N});
}

// ---------------------------------------------------------------- SGD, axpy, bias

SgdOptions bench_sgd_options() {
  SgdOptions o;
  o.lr = 0.001f;
  o.momentum = 0.9f;
  return o;
}

void bench_sgd(benchmark::State& state, int v) {
  const int64_t n = kBig;
  const SgdOptions o = bench_sgd_options();
  const std::string key = "sgd_momentum/v" + std::to_string(v);
  if (!validated(state, key, [&]() -> std::string {
        const int64_t m = 4099;
        auto p = host_values(701, m), g = host_values(702, m), buf = host_values(703, m);
        auto dp = upload(p), dg = upload(g), dbuf = upload(buf);
        for (bool first : {true, false}) {  // first step clones g into the buffer
          cpu::sgd_step(cpu_context(), m, p.data(), g.data(), buf.data(), o, first);
          cuda::sgd_step_version(v, gpu().ctx(), m, dp.data(), dg.data(), dbuf.data(), o, first);
          const std::string what = key + " n=4099 first_step=" + (first ? "true" : "false");
          std::string e = compare(what + " params", download(dp.data(), m), p, 1e-7, 1e-6);
          if (e.empty()) e = compare(what + " momentum", download(dbuf.data(), m), buf, 1e-7, 1e-6);
          if (!e.empty()) return e;
        }
        return "";
      }))
    return;
  float* p = gpu().output("sgd_params", n);
  float* buf = gpu().output("sgd_buffer", n);
  const float* g = gpu().input(712, n, 0.01f);
  auto run = [&] { cuda::sgd_step_version(v, gpu().ctx(), n, p, g, buf, o, false); };
  if (!validated(state, key + "/" + std::to_string(n), [&] {
        gpu().refill(p, 711, n);
        gpu().refill(buf, 713, n, 0.01f);
        run();
        const auto gp = download(p, n), gb = download(buf, n);
        Checker check(key + " 64M sampled");
        for (int64_t i : sample_indices(n, 4096)) {  // buf = m*buf + g; p -= lr*buf
          const double b =
              double(o.momentum) * (0.01f * bench_value(713, i)) + 0.01f * bench_value(712, i);
          check.value(i, gb[static_cast<size_t>(i)], b, 1e-7, 1e-5);
          check.value(i, gp[static_cast<size_t>(i)], bench_value(711, i) - double(o.lr) * b, 1e-7,
                      1e-5);
        }
        return check.message();
      }))
    return;
  // Bytes: params, grads and momentum read; params and momentum written.
  time_gpu(state, run, {0, 4.0 * 5 * n});
}

void bench_axpy(benchmark::State& state) {
  const int64_t n = kBig;
  if (!validated(state, "axpy", [&] {
        const int64_t m = 4099;
        auto x = host_values(801, m), y = host_values(802, m);
        auto dx = upload(x), dy = upload(y);
        cpu::axpy(cpu_context(), m, 0.5f, x.data(), y.data());
        cuda::axpy(gpu().ctx(), m, 0.5f, dx.data(), dy.data());
        return compare("axpy n=4099 vs the CPU twin", download(dy.data(), m), y, 1e-7, 1e-6);
      }))
    return;
  const float* x = gpu().input(811, n);
  float* y = gpu().output("axpy_y", n);
  gpu().refill(y, 812, n);
  // Bytes: x and y read, y written. (y drifts over iterations; the sums stay finite.)
  time_gpu(state, [&] { cuda::axpy(gpu().ctx(), n, 1e-3f, x, y); }, {0, 12.0 * n});
}

void bench_bias(benchmark::State& state, bool grad) {
  const int64_t N = 128, K = 64, inner = 1024;  // the conv goal's output [128,64,32,32]
  const std::string key = grad ? "bias_grad" : "bias_add";
  if (!validated(state, key, [&] {
        const int64_t n = 5, k = 7, in = 33;
        auto b = host_values(901, k), y = host_values(902, n * k * in);
        auto db = upload(b), dy = upload(y);
        if (grad) {
          std::vector<float> want(static_cast<size_t>(k));
          cpu::bias_grad(cpu_context(), n, k, in, y.data(), want.data());
          auto out = poisoned(k);
          cuda::bias_grad(gpu().ctx(), n, k, in, dy.data(), out.data());
          return compare("bias_grad 5x7x33 vs the CPU twin", download(out.data(), k), want, 1e-5,
                         1e-5);
        }
        cpu::bias_add(cpu_context(), n, k, in, b.data(), y.data());
        cuda::bias_add(gpu().ctx(), n, k, in, db.data(), dy.data());
        return compare("bias_add 5x7x33 vs the CPU twin", download(dy.data(), n * k * in), y, 1e-7,
                       1e-6);
      }))
    return;
  const float* b = gpu().input(911, K, 1e-3f);
  const float* dy = gpu().input(912, N * K * inner);
  float* y = gpu().output("bias_y", N * K * inner);
  float* db = gpu().output("bias_db", K);
  auto run = [&] {
    if (grad)
      cuda::bias_grad(gpu().ctx(), N, K, inner, dy, db);
    else
      cuda::bias_add(gpu().ctx(), N, K, inner, b, y);
  };
  if (!grad) gpu().refill(y, 913, N * K * inner);
  // Bytes: bias_add reads and writes y; bias_grad reads dy (db is 256 bytes).
  time_gpu(state, run, {0, (grad ? 4.0 : 8.0) * N * K * inner});
}

// ---------------------------------------------------------------- seed-pool training step

void bench_train_step(benchmark::State& state) {
  const int64_t N = 32;
  const Shape input{3, 32, 32};
  const auto x = host_values(1001, N * 3 * 32 * 32);
  std::vector<int32_t> y(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) y[static_cast<size_t>(i)] = bench_label(1002, i, 10);
  auto gnet = build_model("seed-pool", input, cuda_device(0));
  gnet->init(0);
  OneDeviceTrainer gtrain(*gnet, gpu().ctx(), bench_sgd_options());
  if (!validated(state, "train_step", [&]() -> std::string {
        auto cnet = build_model("seed-pool", input, cpu_device());
        cnet->init(0);
        auto vnet = build_model("seed-pool", input, cuda_device(0));
        vnet->init(0);
        OneDeviceTrainer ctrain(*cnet, cpu_context(), bench_sgd_options());
        OneDeviceTrainer vtrain(*vnet, gpu().ctx(), bench_sgd_options());
        for (int step = 1; step <= 3; ++step) {  // step 1 alone cannot see the SGD update
          const float cl = ctrain.step(x.data(), y.data(), N).loss;
          const float gl = vtrain.step(x.data(), y.data(), N).loss;
          if (!(std::fabs(cl - gl) <= 1e-4 * (1 + std::fabs(cl))))
            return "seed-pool step " + std::to_string(step) + ": loss on cuda:0 " +
                   std::to_string(gl) + ", on the CPU " + std::to_string(cl);
        }
        return "";
      }))
    return;
  // As in training, a step reuses its weights from L2: no flush (nor in the PyTorch baseline).
  Work work;
  work.flush_l2 = false;
  time_gpu(
      state, [&] { gtrain.step(x.data(), y.data(), N); }, work);
  state.counters["samples/s"] = N / (state.counters["median_ms"].value * 1e-3);
}

// The same step as one CUDA graph (--cuda-graph on, parallel/step_graph.h): a
// ParallelTrainer on cuda:0 alone, dp, whose step is warm-up, capture, then one
// replay per iteration, beside BM_train_step in the same run. Validated first:
// three steps give the losses of the eager ParallelTrainer bit for bit (the
// graph's claim). Unverified on silicon until a GPU report shows it.
void bench_train_step_graph(benchmark::State& state) {
  const int64_t N = 32;
  const Shape input{3, 32, 32};
  const auto x = host_values(1001, N * 3 * 32 * 32);
  std::vector<int32_t> y(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) y[static_cast<size_t>(i)] = bench_label(1002, i, 10);
  const NetFactory factory = [&](Device device, uint64_t seed) {
    auto net = build_model("seed-pool", input, device);
    net->init(seed);
    return net;
  };
  auto trainer_on = [&](DeviceGroup& group, bool graph) {
    ParallelOptions options;
    options.cuda_graph = graph;
    return make_parallel_trainer(group, factory, bench_sgd_options(), options);
  };
  DeviceGroup group({cuda_device(0)}, 0);
  auto graphed = trainer_on(group, true);
  if (!validated(state, "train_step_graph", [&]() -> std::string {
        DeviceGroup eager_group({cuda_device(0)}, 0);
        auto eager = trainer_on(eager_group, false);
        for (int step = 1; step <= 3; ++step) {  // eager, captured, replayed
          const float gl = graphed->step(x.data(), y.data(), N).loss;
          const float el = eager->step(x.data(), y.data(), N).loss;
          if (std::memcmp(&gl, &el, sizeof(float)) != 0)
            return "seed-pool step " + std::to_string(step) + ": graph loss " +
                   std::to_string(gl) + ", eager " + std::to_string(el) + " (not the same bits)";
        }
        return "";
      }))
    return;
  Work work;
  work.flush_l2 = false;  // as BM_train_step
  time_gpu(
      state, [&] { graphed->step(x.data(), y.data(), N); }, work);
  state.counters["samples/s"] = N / (state.counters["median_ms"].value * 1e-3);
}

// ---------------------------------------------------------------- registration

void register_all(int only_version) {
  auto versions = [&](int count) { return versions_to_run(count, only_version); };
  add_benchmark("BM_copy_float4/" + mib(kBig), false, bench_copy);

  register_gemm_conv(only_version);
  for (bool backward : {false, true})
    for (int v : versions(cuda::relu_versions()))
      add_benchmark(version_name(backward ? "relu_backward" : "relu_forward", v) + mib(kBig),
                    v == cuda::relu_default_version(),
                    [=](benchmark::State& st) { bench_relu(st, v, backward); });
  for (bool backward : {false, true})
    for (int v : versions(cuda::maxpool2d_versions()))
      add_benchmark(version_name(backward ? "maxpool2d_backward" : "maxpool2d_forward", v) +
                        pool_name(big_pool()),
                    v == cuda::maxpool2d_default_version(),
                    [=](benchmark::State& st) { bench_pool(st, v, backward); });
  for (int v : versions(cuda::cross_entropy_versions()))
    add_benchmark(version_name("cross_entropy", v) + "8192x1000",
                  v == cuda::cross_entropy_default_version(),
                  [=](benchmark::State& st) { bench_cross_entropy(st, v); });
  for (int v : versions(cuda::sgd_versions()))
    add_benchmark(version_name("sgd_momentum", v) + std::to_string(kBig),
                  v == cuda::sgd_default_version(),
                  [=](benchmark::State& st) { bench_sgd(st, v); });
  add_benchmark("BM_axpy/" + std::to_string(kBig), true, bench_axpy);
  add_benchmark("BM_bias_add/128x64x1024", true,
                [](benchmark::State& st) { bench_bias(st, false); });
  add_benchmark("BM_bias_grad/128x64x1024", true,
                [](benchmark::State& st) { bench_bias(st, true); });
  add_benchmark("BM_train_step/seed_pool/batch:32", true, bench_train_step);
  add_benchmark("BM_train_step_graph/seed_pool/batch:32", true, bench_train_step_graph);
}

}  // namespace
}  // namespace cudp::bench

int main(int argc, char** argv) {
  std::vector<char*> args;
  const int only_version = cudp::bench::take_version_flag(argc, argv, args);
  bool list_only = false;
  for (char* arg : args)
    list_only = list_only || std::strcmp(arg, "--benchmark_list_tests") == 0 ||
                std::strcmp(arg, "--benchmark_list_tests=true") == 0;
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  // Registering needs no GPU (version counts are host code), so names list anywhere.
  cudp::bench::register_all(only_version);
  if (cudp::cuda_device_count() == 0 && !list_only) {
    std::printf("bench_kernels_cuda: no usable CUDA GPU (%s); nothing to benchmark\n",
                cudp::cuda_unavailable_reason().c_str());
    return 0;
  }
  try {
    if (!list_only) {
      const cudaDeviceProp& prop = cudp::bench::gpu().prop();
      benchmark::AddCustomContext("gpu", prop.name);
      benchmark::AddCustomContext("gpu_l2_bytes", std::to_string(prop.l2CacheSize));
      benchmark::AddCustomContext("l2_flush_bytes",
                                  std::to_string(cudp::bench::gpu().flush_bytes()));
      using cudp::bench::PeakMath;
      benchmark::AddCustomContext("gpu_sms", std::to_string(prop.multiProcessorCount));
      benchmark::AddCustomContext(
          "gpu_clock", "cudaDevAttrClockRate (max SM clock) " +
                           std::to_string(cudp::bench::gpu().clock_khz() / 1000) + " MHz");
      benchmark::AddCustomContext("peak_gflops_fp32",
                                  std::to_string(cudp::bench::gpu().peak_gflops(PeakMath::Fp32)));
      benchmark::AddCustomContext("peak_gflops_tf32",
                                  std::to_string(cudp::bench::gpu().peak_gflops(PeakMath::Tf32)));
    }
    benchmark::RunSpecifiedBenchmarks();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_kernels_cuda: %s\n", e.what());
    cudp::bench::release_gpu();
    return 1;
  }
  cudp::bench::release_gpu();
  benchmark::Shutdown();
  return 0;
}
