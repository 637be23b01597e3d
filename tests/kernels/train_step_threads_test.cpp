// The whole seed-pool training step on one CPU device gives the same bits for
// ctx.threads = 1, 2, 3: the claim that lets `--threads` change speed only.
//
// Every op in the step is thread-count invariant on its own (GEMM and conv split
// outputs, never a sum; bias_grad splits channels; the elementwise ops split
// ranges), and this test checks their composition: three SGD steps (momentum,
// so step 2 and 3 read the buffer), then every parameter compared bitwise.
// 3x16x16 inputs and batch 8 are large enough that every op really forks.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model/models.h"
#include "model/one_device_trainer.h"
#include "tests/common/poison.h"
#include "tests/kernels/versions_check.h"

namespace cudp {
namespace {

std::vector<float> train_three_steps(int threads) {
  const int64_t batch = 8;
  auto net = build_model("seed-pool", {3, 16, 16}, cpu_device(0));
  net->init(3);
  SgdOptions sgd;
  sgd.lr = 0.05f, sgd.momentum = 0.9f;
  OneDeviceTrainer trainer(*net, cpu_context(threads), sgd);
  const auto x = test::random_floats(batch * 3 * 16 * 16, 17);
  std::vector<int32_t> y(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) y[static_cast<size_t>(i)] = static_cast<int32_t>(i * 7 % 10);
  for (int step = 0; step < 3; ++step) trainer.step(x.data(), y.data(), batch);
  return {net->params(), net->params() + net->param_count()};
}

TEST(CpuTrainStepThreads, ParametersAfterThreeStepsAreBitwiseEqualForOneTwoThreeThreads) {
  const auto one = train_three_steps(1);
  for (int threads : {1, 2, 3})
    EXPECT_TRUE(test::same_bits(train_three_steps(threads), one,
                                "seed-pool parameters, threads=" + std::to_string(threads)));
}

}  // namespace
}  // namespace cudp
