// Tests of the CPU ReLU (kernels/relu.h): values, NaN, in-place use, and the
// backward against finite differences.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/relu.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

std::vector<double> relu_reference(const std::vector<double>& x) {
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
  return y;
}

TEST(CpuRelu, ForwardMatchesReferenceOnOddSizes) {
  const Context ctx = cpu_context();
  for (int64_t n : {1, 7, 8, 33, 1000}) {
    SCOPED_TRACE(n);
    const auto x = test::random_floats(n, 40 + n);
    auto y = test::nan_filled(n);
    relu_forward(ctx, n, x.data(), y.data());
    EXPECT_TRUE(all_close(y, relu_reference(test::to_double(x)), 0.0, 0.0, "out of place"));
    auto inplace = x;
    relu_forward(ctx, n, inplace.data(), inplace.data());  // y aliases x
    EXPECT_TRUE(test::all_identical(inplace, y, "in place"));
  }
}

TEST(CpuRelu, NanStaysNanInfinitiesClamp) {
  const Context ctx = cpu_context();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {std::nanf(""), -inf, inf, -0.5f, 0.0f, 2.0f};
  auto y = test::nan_filled(6);
  relu_forward(ctx, 6, x.data(), y.data());
  EXPECT_TRUE(std::isnan(y[0]));  // torch.relu(nan) is nan
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], inf);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], 0.0f);
  EXPECT_EQ(y[5], 2.0f);
}

TEST(CpuRelu, BackwardPassesGradientWhereOutputPositive) {
  const Context ctx = cpu_context();
  const std::vector<float> y = {0.0f, 1.5f, 0.0f, 3.0f, 1e-30f};
  const std::vector<float> dy = {10.0f, 20.0f, 30.0f, 40.0f, 50.0f};
  auto dx = test::nan_filled(5);
  relu_backward(ctx, 5, y.data(), dy.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0, 20, 0, 40, 50}, 0.0, 0.0));
  auto inplace = dy;
  relu_backward(ctx, 5, y.data(), inplace.data(), inplace.data());  // dx aliases dy
  EXPECT_TRUE(test::all_identical(inplace, dx, "in place"));
}

// L = sum(dy * relu(x)), x at least 0.01 away from the kink.
// Float kernel vs double difference: atol 1e-4, rtol 1e-3.
TEST(CpuRelu, BackwardMatchesFiniteDifferences) {
  const Context ctx = cpu_context();
  auto x = test::random_floats(101, 5);
  for (auto& v : x)
    if (std::fabs(v) < 0.01f) v = 0.5f;
  const auto dy = test::random_floats(101, 6);
  auto y = test::nan_filled(101);
  relu_forward(ctx, 101, x.data(), y.data());
  auto dx = test::nan_filled(101);
  relu_backward(ctx, 101, y.data(), dy.data(), dx.data());
  const auto dyd = test::to_double(dy);
  const auto numeric = test::numeric_gradient(
      [&](const std::vector<double>& xv) { return test::dot(dyd, relu_reference(xv)); },
      test::to_double(x));
  EXPECT_TRUE(all_close(dx, numeric, 1e-4, 1e-3));
}

}  // namespace
}  // namespace cudp
