// CrossEntropyLoss (value, bad targets turned into errors) and Sgd's
// bookkeeping (momentum buffer, the first step, option checks).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "model/loss.h"
#include "model/sgd.h"
#include "runtime/error.h"

namespace cudp {
namespace {

TEST(CrossEntropyLoss, ValueMatchesAHandComputation) {
  const Context ctx = cpu_context();
  const std::vector<float> logits = {1, 2, 3, 0, 0, 0};
  const std::vector<int32_t> targets = {2, 0};
  CrossEntropyLoss loss(cpu_device());
  std::vector<float> dlogits(6);
  loss.compute(ctx, 2, 3, logits.data(), targets.data(), dlogits.data());
  const double row0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double row1 = std::log(3.0);
  EXPECT_NEAR(loss.value(ctx), (row0 + row1) / 2, 1e-6);
  EXPECT_NEAR(dlogits[3], (1.0 / 3 - 1) / 2, 1e-6);
}

TEST(CrossEntropyLoss, BadTargetNamesTheRowAndTheLabel) {
  const Context ctx = cpu_context();
  const std::vector<float> logits(12, 0.5f);
  for (int32_t bad : {7, 4, -5}) {
    const std::vector<int32_t> targets = {0, 3, bad};
    CrossEntropyLoss loss(cpu_device());
    loss.compute(ctx, 3, 4, logits.data(), targets.data(), nullptr);
    std::string m;
    try {
      loss.value(ctx);
    } catch (const Error& e) {
      m = e.what();
    }
    EXPECT_EQ(m,
              "cross_entropy: target " + std::to_string(bad) + " at row 2 is out of range [0, 4)");
  }
  const std::vector<int32_t> ignored = {0, -100, 1};  // ignore_index is not an error
  CrossEntropyLoss loss(cpu_device());
  loss.compute(ctx, 3, 4, logits.data(), ignored.data(), nullptr);
  EXPECT_NEAR(loss.value(ctx), std::log(4.0), 1e-6);
  CrossEntropyLoss fresh(cpu_device());
  EXPECT_THROW(fresh.value(ctx), Error);
}

TEST(Sgd, MomentumBufferAndFirstStep) {
  const Context ctx = cpu_context();
  Sgd plain(cpu_device(), 2, SgdOptions{0.5f});
  EXPECT_EQ(plain.momentum_buffer(), nullptr);
  std::vector<float> p = {1, 2};
  const std::vector<float> g = {2, -4};
  plain.step(ctx, p.data(), g.data());
  EXPECT_EQ(p, (std::vector<float>{0, 4}));
  EXPECT_EQ(plain.steps_taken(), 1);

  Sgd momentum(cpu_device(), 2, SgdOptions{0.5f, 0.9f, 0.5f});
  ASSERT_NE(momentum.momentum_buffer(), nullptr);
  p = {1, 2};
  momentum.step(ctx, p.data(), g.data());  // buf = g (no dampening on the first step)
  EXPECT_EQ(p, (std::vector<float>{0, 4}));
  momentum.step(ctx, p.data(), g.data());  // buf = 0.9 g + 0.5 g = 1.4 g
  EXPECT_NEAR(p[0], 0 - 0.5 * 1.4 * 2, 1e-6);
  EXPECT_NEAR(p[1], 4 + 0.5 * 1.4 * 4, 1e-6);
  EXPECT_EQ(momentum.steps_taken(), 2);
}

// The step's values live in the device's memory (CPU: host memory of cpu:0):
// begin_step writes lr and the first-step flag, the kernels read them.
TEST(Sgd, StepScalarsInDeviceMemory) {
  const Context ctx = cpu_context();
  Sgd sgd(cpu_device(), 2, SgdOptions{0.5f, 0.9f});
  std::vector<float> p = {1, 2};
  const std::vector<float> g = {2, -4};
  sgd.begin_step(ctx);
  EXPECT_EQ(sgd.scalars()->lr, 0.5f);
  EXPECT_EQ(sgd.scalars()->first_step, 1);
  EXPECT_EQ(sgd.scalars()->skip, 0);
  sgd.apply(ctx, p.data(), g.data(), 0, 2);
  sgd.end_step();
  EXPECT_EQ(p, (std::vector<float>{0, 4}));
  // A milestone: the new rate reaches the device at the next begin_step.
  sgd.set_lr(0.25f);
  EXPECT_EQ(sgd.scalars()->lr, 0.5f);
  sgd.begin_step(ctx);
  EXPECT_EQ(sgd.scalars()->lr, 0.25f);
  EXPECT_EQ(sgd.scalars()->first_step, 0);
  // The skip flag (a non-finite loss): the update leaves params and buffer alone.
  *sgd.skip_flag() = 1;
  EXPECT_TRUE(sgd.skipped(ctx));
  const std::vector<float> buffer(sgd.momentum_buffer(), sgd.momentum_buffer() + 2);
  sgd.apply(ctx, p.data(), g.data(), 0, 2);
  EXPECT_EQ(p, (std::vector<float>{0, 4}));
  EXPECT_EQ(std::vector<float>(sgd.momentum_buffer(), sgd.momentum_buffer() + 2), buffer);
  // A resumed optimizer is past its first step: the buffer is read, not overwritten.
  Sgd resumed(cpu_device(), 2, SgdOptions{0.5f, 0.9f});
  resumed.set_steps_taken(7);
  resumed.begin_step(ctx);
  EXPECT_EQ(resumed.scalars()->first_step, 0);
  EXPECT_FALSE(resumed.skipped(ctx));
}

TEST(Sgd, RefusesOptionsTorchRefuses) {
  EXPECT_THROW(Sgd(cpu_device(), 4, SgdOptions{-0.1f}), Error);
  SgdOptions nesterov_without_momentum;
  nesterov_without_momentum.nesterov = true;
  EXPECT_THROW(Sgd(cpu_device(), 4, nesterov_without_momentum), Error);
}

}  // namespace
}  // namespace cudp
