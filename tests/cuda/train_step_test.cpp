// End to end on a GPU: 10 SGD steps of seed-pool from one init on `cpu` and on
// `cuda:0` agree on logits, loss, every gradient and every parameter.
//
// Tolerances: both backends compute in float32 but sum in different orders
// (the CPU twin accumulates im2col/GEMM rows sequentially, the GPU in tiles and
// split-K partial sums), so each result differs by a few ulps times the depth
// of its sums (K up to 4096 for fc1). Over 10 steps with momentum 0.9 those
// differences feed back through the parameters. We therefore compare
// per-step quantities with atol 1e-5 + rtol 1e-3 and the final parameters with
// atol 1e-5 + rtol 1e-4 (parameters are O(1e-2), updates O(lr * grad) = O(1e-5)).
#include <cmath>

#include <gtest/gtest.h>

#include "model/loss.h"
#include "model/models.h"
#include "model/sgd.h"
#include "runtime/cuda_info.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

std::vector<float> download(const float* ptr, int64_t n, Device device) {
  std::vector<float> host(static_cast<size_t>(n));
  Context ctx{device};
  copy_bytes(ctx, host.data(), cpu_device(), ptr, device, n * sizeof(float));
  synchronize(ctx);
  return host;
}

struct Replica {
  explicit Replica(Device d)
      : device(d),
        net(build_model("seed-pool", {3, 32, 32}, d)),
        loss(d),
        sgd(d, net->param_count(),
            [] {
              SgdOptions o;
              o.lr = 0.01f;
              o.momentum = 0.9f;
              return o;
            }()),
        x(d, 8 * 3 * 32 * 32),
        y(d, 8),
        dlogits(d, 8 * 10) {
    net->init(7);
  }
  Device device;
  std::unique_ptr<Sequential> net;
  CrossEntropyLoss loss;
  Sgd sgd;
  Buffer<float> x;
  Buffer<int32_t> y;
  Buffer<float> dlogits;
};

TEST(CudaTrainStep, TenStepsMatchTheCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU: " << cuda_unavailable_reason();
  Replica cpu(cpu_device()), gpu(cuda_device(0));
  const int64_t N = 8;
  ASSERT_TRUE(test::all_identical(download(cpu.net->params(), cpu.net->param_count(), cpu.device),
                                  download(gpu.net->params(), gpu.net->param_count(), gpu.device),
                                  "initial parameters"));
  for (int step = 0; step < 10; ++step) {
    const std::vector<float> x = test::random_floats(N * 3 * 32 * 32, 100 + step, -2.f, 2.f);
    std::vector<int32_t> y(N);
    for (int64_t i = 0; i < N; ++i) y[i] = static_cast<int32_t>((i * 7 + step) % 10);
    std::vector<std::vector<float>> logits, grads;
    std::vector<float> losses;
    for (Replica* r : {&cpu, &gpu}) {
      Context ctx{r->device};
      copy_bytes(ctx, r->x.data(), r->device, x.data(), cpu_device(), x.size() * sizeof(float));
      copy_bytes(ctx, r->y.data(), r->device, y.data(), cpu_device(), y.size() * sizeof(int32_t));
      const float* out = r->net->forward(ctx, N, r->x.data());
      r->loss.compute(ctx, N, 10, out, r->y.data(), r->dlogits.data());
      r->net->backward(ctx, r->dlogits.data());
      logits.push_back(download(out, N * 10, r->device));
      grads.push_back(download(r->net->grads(), r->net->param_count(), r->device));
      losses.push_back(r->loss.value(ctx));
      r->sgd.step(ctx, r->net->params(), r->net->grads());
    }
    const std::string at = " at step " + std::to_string(step);
    EXPECT_TRUE(test::all_close(logits[1], logits[0], 1e-5, 1e-3, "logits" + at));
    EXPECT_NEAR(losses[1], losses[0], 1e-5 + 1e-4 * std::fabs(losses[0])) << "loss" << at;
    for (const NamedParam& p : cpu.net->named_params()) {
      const std::vector<float> g_cpu(grads[0].begin() + p.offset,
                                     grads[0].begin() + p.offset + p.numel());
      const std::vector<float> g_gpu(grads[1].begin() + p.offset,
                                     grads[1].begin() + p.offset + p.numel());
      EXPECT_TRUE(test::all_close(g_gpu, g_cpu, 1e-5, 1e-3, p.name + " gradient" + at));
    }
  }
  const auto p_cpu = download(cpu.net->params(), cpu.net->param_count(), cpu.device);
  const auto p_gpu = download(gpu.net->params(), gpu.net->param_count(), gpu.device);
  for (const NamedParam& p : cpu.net->named_params()) {
    const std::vector<float> a(p_cpu.begin() + p.offset, p_cpu.begin() + p.offset + p.numel());
    const std::vector<float> b(p_gpu.begin() + p.offset, p_gpu.begin() + p.offset + p.numel());
    EXPECT_TRUE(test::all_close(b, a, 1e-5, 1e-4, p.name + " after 10 steps"));
  }
}

}  // namespace
}  // namespace cudp
