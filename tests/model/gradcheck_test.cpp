// Whole-net gradient check: Sequential's wiring of forward/backward, checked
// against central finite differences of the loss.
//
// Each op's backward is checked in double by tests/kernels; here the question
// is whether the net hands each layer the right x, y, dy and dx. The net runs
// in float, so the loss is taken in double from the float logits, and
// eps = 1e-3: the net is piecewise linear in any one weight and the softmax
// loss is smooth, so the truncation error is O(eps^2) (~1e-6), the float
// rounding noise of the logits (~1e-7) becomes ~1e-4 after dividing by 2*eps,
// and a sample whose [w - eps, w + eps] holds a ReLU or max-pool switch (a kink,
// seen as one-sided slopes that disagree) is skipped. Hence |analytic - numeric|
// <= 3e-4 + 3e-2 |numeric|; a wrong wiring (a missing layer, a swapped pointer,
// a sign) is off by far more, as is a gradient that is all zeros.
#include <gtest/gtest.h>

#include <cmath>

#include "model/layers.h"
#include "model/loss.h"
#include "model/sequential.h"
#include "tests/common/poison.h"

namespace cudp {
namespace {

struct Problem {
  std::unique_ptr<Sequential> net;
  std::vector<float> x;
  std::vector<int32_t> targets;
  int64_t N = 0;
};

// Mean cross-entropy in double, from the net's float logits.
double loss_in_double(Problem& p) {
  const float* logits = p.net->forward(cpu_context(), p.N, p.x.data());
  const int64_t classes = p.net->classes();
  double total = 0;
  for (int64_t n = 0; n < p.N; ++n) {
    const float* row = logits + n * classes;
    double max = row[0], sum = 0;
    for (int64_t c = 0; c < classes; ++c) max = std::max(max, static_cast<double>(row[c]));
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(row[c] - max);
    total += max + std::log(sum) - row[p.targets[static_cast<std::size_t>(n)]];
  }
  return total / static_cast<double>(p.N);
}

// Runs forward, the loss kernel and backward: p.net->grads() then holds dL/dparams.
void analytic_gradients(Problem& p) {
  const Context ctx = cpu_context();
  const float* logits = p.net->forward(ctx, p.N, p.x.data());
  std::vector<float> dlogits(static_cast<std::size_t>(p.N * p.net->classes()));
  CrossEntropyLoss loss(cpu_device());
  loss.compute(ctx, p.N, p.net->classes(), logits, p.targets.data(), dlogits.data());
  EXPECT_TRUE(std::isfinite(loss.value(ctx)));
  p.net->backward(ctx, dlogits.data());
}

void check_gradients(Problem& p, int per_tensor, uint64_t seed) {
  analytic_gradients(p);
  const std::vector<float> grads(p.net->grads(), p.net->grads() + p.net->param_count());
  const double center = loss_in_double(p);
  const double eps = 1e-3;
  auto tolerance = [](double ref) { return 3e-4 + 3e-2 * std::fabs(ref); };
  Rng rng(seed);
  int checked = 0, kinked = 0;
  for (const NamedParam& param : p.net->named_params()) {
    double largest = 0;
    for (int k = 0; k < per_tensor; ++k) {
      const int64_t i = param.offset + rng.below(param.numel());
      float* w = p.net->params() + i;  // CPU net: the parameters are host memory
      const float saved = *w;
      *w = static_cast<float>(saved + eps);
      const double up = loss_in_double(p);
      *w = static_cast<float>(saved - eps);
      const double down = loss_in_double(p);
      *w = saved;
      const double numeric = (up - down) / (2 * eps);
      // One-sided slopes that disagree mean a ReLU or a max-pool switched inside
      // [w - eps, w + eps]: the loss has a kink there and no derivative to check.
      if (std::fabs((up - center) / eps - (center - down) / eps) > tolerance(numeric)) {
        ++kinked;
        continue;
      }
      ++checked;
      const double analytic = grads[static_cast<std::size_t>(i)];
      EXPECT_LE(std::fabs(analytic - numeric), tolerance(numeric))
          << param.name << "[" << i - param.offset << "]: backward " << analytic
          << ", finite difference " << numeric;
      largest = std::max(largest, std::fabs(numeric));
    }
    // A check against all-zero gradients would pass vacuously.
    EXPECT_GT(largest, 1e-4) << param.name << ": every sampled gradient is ~0";
  }
  EXPECT_GE(checked, 3 * kinked) << checked << " samples checked, " << kinked
                                 << " skipped on a kink: too few to say anything";
}

Problem small_seed_pool_net() {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(make_conv2d("conv1", 2, 3, 3, 1, 1));
  layers.push_back(make_relu("relu1"));
  layers.push_back(make_maxpool2d("pool1", 2, 2));
  layers.push_back(make_conv2d("conv2", 3, 4, 3, 1, 1));
  layers.push_back(make_relu("relu2"));
  layers.push_back(make_maxpool2d("pool2", 2, 2));
  layers.push_back(make_flatten("flatten"));
  layers.push_back(make_linear("fc1", 4 * 2 * 2, 6));
  layers.push_back(make_relu("relu3"));
  layers.push_back(make_linear("fc2", 6, 3));
  Problem p;
  p.net = std::make_unique<Sequential>("tiny", Shape{2, 8, 8}, std::move(layers), cpu_device());
  p.net->init(21);
  p.N = 3;
  p.x = test::random_floats(p.N * 2 * 8 * 8, 22, -2.0f, 2.0f);
  p.targets = {2, 0, 1};
  return p;
}

TEST(GradientCheck, TinySeedPoolNetMatchesFiniteDifferences) {
  Problem p = small_seed_pool_net();
  check_gradients(p, 6, 23);
}

TEST(GradientCheck, StridedConvWithoutPaddingAndAFlattenFirstNet) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(make_conv2d("conv", 1, 2, 3, 2, 0));  // 1x7x7 -> 2x3x3
  layers.push_back(make_relu("relu"));
  layers.push_back(make_flatten("flatten"));
  layers.push_back(make_linear("fc", 18, 4));
  Problem p;
  p.net = std::make_unique<Sequential>("strided", Shape{1, 7, 7}, std::move(layers), cpu_device());
  p.net->init(31);
  p.N = 2;
  p.x = test::random_floats(p.N * 49, 32, -2.0f, 2.0f);
  p.targets = {3, 1};
  check_gradients(p, 8, 33);

  std::vector<std::unique_ptr<Layer>> mlp;  // Flatten as the first layer aliases the caller's x
  mlp.push_back(make_flatten("flatten"));
  mlp.push_back(make_linear("fc1", 12, 5));
  mlp.push_back(make_relu("relu"));
  mlp.push_back(make_linear("fc2", 5, 3));
  Problem q;
  q.net = std::make_unique<Sequential>("mlp", Shape{3, 2, 2}, std::move(mlp), cpu_device());
  q.net->init(41);
  q.N = 4;
  q.x = test::random_floats(q.N * 12, 42, -2.0f, 2.0f);
  q.targets = {0, 1, 2, 1};
  check_gradients(q, 8, 43);
}

}  // namespace
}  // namespace cudp
