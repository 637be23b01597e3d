// Layers: torch-style descriptions, shape inference and its errors, and
// PyTorch's default init (bounds, spread, draw order, determinism by seed).
#include "model/layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "model/sequential.h"
#include "runtime/error.h"

namespace cudp {
namespace {

// The message of the cudp::Error that `f` throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Layers, DescribeLikeTorchRepr) {
  EXPECT_EQ(make_conv2d("c", 3, 64, 3, 1, 1)->describe(),
            "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
  EXPECT_EQ(make_conv2d("c", 1, 8, 5, 2, 0)->describe(),
            "Conv2d(1, 8, kernel_size=(5, 5), stride=(2, 2))");
  EXPECT_EQ(make_linear("f", 4096, 512)->describe(),
            "Linear(in_features=4096, out_features=512, bias=True)");
  EXPECT_EQ(make_relu("r")->describe(), "ReLU()");
  EXPECT_EQ(make_maxpool2d("p", 2, 2)->describe(), "MaxPool2d(kernel_size=2, stride=2)");
  EXPECT_EQ(make_flatten("x")->describe(), "Flatten()");
}

TEST(Layers, InferShapes) {
  EXPECT_EQ(make_conv2d("c", 3, 64, 3, 1, 1)->infer({3, 32, 32}), (Shape{64, 32, 32}));
  EXPECT_EQ(make_conv2d("c", 3, 8, 3, 2, 0)->infer({3, 9, 7}), (Shape{8, 4, 3}));
  EXPECT_EQ(make_maxpool2d("p", 2, 2)->infer({64, 7, 9}), (Shape{64, 3, 4}));
  EXPECT_EQ(make_maxpool2d("p", 3, 1)->infer({2, 5, 5}), (Shape{2, 3, 3}));
  EXPECT_EQ(make_flatten("x")->infer({64, 8, 8}), (Shape{4096}));
  EXPECT_EQ(make_relu("r")->infer({5, 2}), (Shape{5, 2}));
  EXPECT_EQ(make_linear("f", 10, 3)->infer({10}), (Shape{3}));
}

TEST(Layers, InferErrorsNameTheLayerAndBothSides) {
  std::string m = error_of([] { make_conv2d("conv1", 3, 64, 3, 1, 1)->infer({1, 28, 28}); });
  EXPECT_NE(m.find("conv1 (Conv2d)"), std::string::npos) << m;
  EXPECT_NE(m.find("expected 3 input channels, found 1"), std::string::npos) << m;
  m = error_of([] { make_conv2d("c", 3, 4, 5, 1, 0)->infer({3, 4, 4}); });
  EXPECT_NE(m.find("smaller than the 5x5 kernel"), std::string::npos) << m;
  m = error_of([] { make_linear("fc1", 4096, 512)->infer({65536}); });
  EXPECT_NE(m.find("fc1 (Linear): expected 4096 input features, found 65536"), std::string::npos)
      << m;
  m = error_of([] { make_linear("fc1", 4096, 512)->infer({64, 8, 8}); });
  EXPECT_NE(m.find("64x8x8"), std::string::npos) << m;
  EXPECT_NE(m.find("Flatten"), std::string::npos) << m;
  m = error_of([] { make_maxpool2d("pool2", 2, 2)->infer({64, 1, 1}); });
  EXPECT_NE(m.find("pool2 (MaxPool2d)"), std::string::npos) << m;
  EXPECT_NE(error_of([] { make_conv2d("c", 0, 4, 3); }).find("in_channels"), std::string::npos);
  EXPECT_NE(error_of([] { make_linear("f", 3, 0); }).find("out_features"), std::string::npos);
  EXPECT_NE(error_of([] { make_maxpool2d("p", 2, 0); }).find("stride"), std::string::npos);
}

TEST(Layers, ParamsAreWeightThenBias) {
  auto conv = make_conv2d("c", 3, 4, 3);
  conv->infer({3, 5, 5});
  const auto p = conv->params();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].suffix, "weight");
  EXPECT_EQ(p[0].shape, (Shape{4, 3, 3, 3}));
  EXPECT_EQ(p[0].offset, 0);
  EXPECT_EQ(p[1].suffix, "bias");
  EXPECT_EQ(p[1].shape, (Shape{4}));
  EXPECT_EQ(p[1].offset, 108);
  EXPECT_EQ(conv->param_count(), 112);
  EXPECT_EQ(make_linear("f", 7, 3)->param_count(), 24);
  EXPECT_EQ(make_relu("r")->param_count(), 0);
}

// One net holding every parameterised layer, on the CPU: params() is host memory.
std::unique_ptr<Sequential> init_net(uint64_t seed) {
  std::vector<std::unique_ptr<Layer>> layers;
  layers.push_back(make_conv2d("conv", 3, 16, 3, 1, 1));  // fan_in 27
  layers.push_back(make_flatten("flatten"));
  layers.push_back(make_linear("fc", 16 * 4 * 4, 300));  // fan_in 256
  auto net = std::make_unique<Sequential>("init", Shape{3, 4, 4}, std::move(layers), cpu_device());
  net->init(seed);
  return net;
}

TEST(Init, EveryParameterWithinItsFanInBoundAndFillingIt) {
  auto net = init_net(11);
  const int64_t fan_in[] = {27, 27, 256, 256};
  ASSERT_EQ(net->named_params().size(), 4u);
  for (std::size_t t = 0; t < 4; ++t) {
    const NamedParam& p = net->named_params()[t];
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in[t]));
    double lo = 1, hi = -1, sum = 0;
    for (int64_t i = 0; i < p.numel(); ++i) {
      const double w = net->params()[p.offset + i];
      ASSERT_LE(std::fabs(w), bound) << p.name << "[" << i << "]";
      lo = std::min(lo, w);
      hi = std::max(hi, w);
      sum += w;
    }
    // A uniform sample of n values leaves gaps of about bound * 2/n at the ends.
    const double slack = bound * std::min(0.5, 20.0 / static_cast<double>(p.numel()));
    EXPECT_LT(lo, -bound + slack) << p.name << " n=" << p.numel();
    EXPECT_GT(hi, bound - slack) << p.name << " n=" << p.numel();
    EXPECT_LT(std::fabs(sum / static_cast<double>(p.numel())), bound * 0.6) << p.name;
  }
}

TEST(Init, DrawsWeightThenBiasLayerByLayerFromOneGenerator) {
  auto net = init_net(12);
  Rng rng(12);
  const int64_t fan_in[] = {27, 27, 256, 256};
  for (std::size_t t = 0; t < 4; ++t) {
    const NamedParam& p = net->named_params()[t];
    const auto bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(fan_in[t])));
    for (int64_t i = 0; i < p.numel(); ++i)
      ASSERT_EQ(net->params()[p.offset + i], rng.uniform(-bound, bound))
          << p.name << "[" << i << "]";
  }
}

TEST(Init, SameSeedSameWeightsOtherSeedOther) {
  auto a = init_net(5), b = init_net(5), c = init_net(6);
  const int64_t n = a->param_count();
  ASSERT_EQ(n, 16 * 27 + 16 + 256 * 300 + 300);
  int64_t same_ab = 0, same_ac = 0;
  for (int64_t i = 0; i < n; ++i) {
    same_ab += a->params()[i] == b->params()[i];
    same_ac += a->params()[i] == c->params()[i];
  }
  EXPECT_EQ(same_ab, n);
  EXPECT_LT(same_ac, n / 100);
}

}  // namespace
}  // namespace cudp
