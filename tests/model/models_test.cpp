// The named models: the seed article's literal Net (refused on 3x32x32 at fc1,
// valid on 3x8x8) and seed-pool, plus Sequential's bookkeeping (names,
// offsets, buffers reused across batch sizes, summary).
#include "model/models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "model/loss.h"
#include "model/sgd.h"
#include "runtime/error.h"
#include "tests/common/poison.h"

namespace cudp {
namespace {

std::string build_error(const std::string& name, const Shape& input) {
  try {
    build_model(name, input, cpu_device());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Models, SeedOn3x32x32IsRefusedAtFc1WithBothSizes) {
  const std::string m = build_error("seed", {3, 32, 32});
  for (const char* part : {"fc1", "4096", "65536", "flatten"})
    EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' missing from: " << m;
}

TEST(Models, BadNamesAndShapesAreRefused) {
  std::string m = build_error("resnet", {3, 32, 32});
  EXPECT_NE(m.find("resnet"), std::string::npos) << m;
  EXPECT_NE(m.find("seed, seed-pool"), std::string::npos) << m;
  m = build_error("seed-pool", {32, 32});
  EXPECT_NE(m.find("32x32"), std::string::npos) << m;
  EXPECT_NE(build_error("seed-pool", {3, 0, 32}), "");
  EXPECT_NE(build_error("seed-pool", {3, 3, 32}).find("at least 4x4"), std::string::npos);
  EXPECT_NE(build_error("seed", {1, 8, 8}).find("conv1"), std::string::npos);
  EXPECT_THROW(build_model("seed-pool", {3, 32, 32}, cpu_device(), 0), Error);
}

TEST(Models, SeedPoolParameterCountsAndShapes) {
  auto net = build_model("seed-pool", {3, 32, 32}, cpu_device());
  EXPECT_EQ(net->param_count(), 1792 + 36928 + 2097664 + 5130);
  EXPECT_EQ(net->param_count(), 2141514);
  EXPECT_EQ(net->output_shape(), (Shape{10}));
  EXPECT_EQ(net->shapes()[3], (Shape{64, 16, 16}));  // after pool1
  EXPECT_EQ(net->shapes()[7], (Shape{4096}));        // after flatten
  auto mnist = build_model("seed-pool", {1, 28, 28}, cpu_device(), 10);
  EXPECT_EQ(mnist->param_count(), 640 + 36928 + (64 * 7 * 7 * 512 + 512) + 5130);
  EXPECT_EQ(build_model("seed-pool", {3, 32, 32}, cpu_device(), 100)->classes(), 100);
}

TEST(Models, StateDictNamesAndContiguousOffsets) {
  auto net = build_model("seed", {3, 8, 8}, cpu_device());
  const char* names[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                         "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias"};
  ASSERT_EQ(net->named_params().size(), 8u);
  int64_t offset = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const NamedParam& p = net->named_params()[i];
    EXPECT_EQ(p.name, names[i]);
    EXPECT_EQ(p.offset, offset) << p.name;
    offset += p.numel();
  }
  EXPECT_EQ(offset, net->param_count());
  EXPECT_EQ(net->named_params()[4].shape, (Shape{512, 4096}));
}

TEST(Models, SummaryListsEveryLayerAndTheTotal) {
  auto net = build_model("seed-pool", {3, 32, 32}, cpu_device());
  const std::string s = net->summary();
  for (const char* part :
       {"conv1", "pool2", "flatten", "fc2", "64x16x16", "4096",
        "Linear(in_features=4096, out_features=512, bias=True)", "2097664", "2141514"})
    EXPECT_NE(s.find(part), std::string::npos) << "'" << part << "' missing from:\n" << s;
}

// forward + loss + backward + SGD on `net`, returning the loss before the step.
float train_step(Sequential& net, Sgd& sgd, const std::vector<float>& x,
                 const std::vector<int32_t>& y) {
  const Context ctx = cpu_context();
  const auto N = static_cast<int64_t>(y.size());
  CrossEntropyLoss loss(cpu_device());
  std::vector<float> dlogits(static_cast<std::size_t>(N * net.classes()));
  const float* logits = net.forward(ctx, N, x.data());
  loss.compute(ctx, N, net.classes(), logits, y.data(), dlogits.data());
  const float value = loss.value(ctx);
  net.backward(ctx, dlogits.data());
  sgd.step(ctx, net.params(), net.grads());
  return value;
}

TEST(Models, SeedOn3x8x8TrainsAndItsLossFalls) {
  auto net = build_model("seed", {3, 8, 8}, cpu_device());
  net->init(1);
  Sgd sgd(cpu_device(), net->param_count(), SgdOptions{0.01f, 0.9f});
  const std::vector<float> x = test::random_floats(4 * 3 * 8 * 8, 2);
  const std::vector<int32_t> y = {3, 1, 4, 1};
  const float first = train_step(*net, sgd, x, y);
  EXPECT_TRUE(std::isfinite(first));
  EXPECT_NEAR(first, std::log(10.0f), 0.5f);  // near-uniform logits at init
  double grad_norm = 0;
  for (int64_t i = 0; i < net->param_count(); ++i) grad_norm += net->grads()[i] * net->grads()[i];
  EXPECT_GT(grad_norm, 0.0);
  float last = first;
  for (int i = 0; i < 5; ++i) last = train_step(*net, sgd, x, y);
  EXPECT_TRUE(std::isfinite(last));
  EXPECT_LT(last, first) << "the same batch six times should lower its loss";
  EXPECT_EQ(sgd.steps_taken(), 6);
}

TEST(Models, ActivationsAreAllocatedOnceForTheLargestBatch) {
  auto net = build_model("seed-pool", {1, 8, 8}, cpu_device());
  net->init(3);
  const Context ctx = cpu_context();
  const std::vector<float> x = test::random_floats(4 * 64, 4);
  const float* at4 = net->forward(ctx, 4, x.data());
  const std::vector<float> logits4(at4, at4 + 40);
  EXPECT_EQ(net->forward(ctx, 2, x.data()), at4);  // smaller batch: same buffers
  const float* again = net->forward(ctx, 4, x.data());
  EXPECT_EQ(again, at4);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(again[i], logits4[static_cast<std::size_t>(i)]) << i;
  EXPECT_THROW(net->forward(ctx, 0, x.data()), Error);
}

}  // namespace
}  // namespace cudp
