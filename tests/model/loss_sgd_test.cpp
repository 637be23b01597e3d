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

TEST(Sgd, RefusesOptionsTorchRefuses) {
  EXPECT_THROW(Sgd(cpu_device(), 4, SgdOptions{-0.1f}), Error);
  SgdOptions nesterov_without_momentum;
  nesterov_without_momentum.nesterov = true;
  EXPECT_THROW(Sgd(cpu_device(), 4, nesterov_without_momentum), Error);
}

}  // namespace
}  // namespace cudp
