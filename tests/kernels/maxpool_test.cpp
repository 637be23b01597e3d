// Tests of the CPU max-pool (kernels/maxpool.h): values and argmax against a
// double loop, PyTorch's tie and NaN rules, overlapping-window backward, and
// the backward against finite differences.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/maxpool.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

std::string describe(const MaxPool2dShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
         " W=" + std::to_string(s.W) + " kernel=" + std::to_string(s.kernel) +
         " stride=" + std::to_string(s.stride);
}

// Forward in double; argmax = first maximum in row-major window order (the
// inputs here have no NaN).
std::vector<double> forward_reference(const MaxPool2dShape& s, const std::vector<double>& x,
                                      std::vector<int32_t>* argmax = nullptr) {
  const int64_t P = s.P(), Q = s.Q();
  std::vector<double> y(static_cast<size_t>(s.y_size()));
  if (argmax) argmax->assign(y.size(), -1);
  for (int64_t plane = 0; plane < s.N * s.C; ++plane)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        int64_t best = -1;
        for (int64_t i = 0; i < s.kernel; ++i)
          for (int64_t j = 0; j < s.kernel; ++j) {
            const int64_t at = (p * s.stride + i) * s.W + (q * s.stride + j);
            if (best < 0 || x[plane * s.H * s.W + at] > x[plane * s.H * s.W + best]) best = at;
          }
        const int64_t out = (plane * P + p) * Q + q;
        y[out] = x[plane * s.H * s.W + best];
        if (argmax) (*argmax)[out] = static_cast<int32_t>(best);
      }
  return y;
}

// {N, C, H, W, kernel, stride}: 2/2 (the model's), overlapping windows
// (3/2, 3/1), gaps between windows (2/3), odd sizes that floor, batch 1.
const MaxPool2dShape kShapes[] = {{1, 1, 2, 2, 2, 2}, {2, 3, 8, 8, 2, 2}, {1, 2, 7, 5, 2, 2},
                                  {2, 2, 9, 7, 3, 2}, {1, 3, 6, 6, 3, 1}, {2, 1, 8, 11, 2, 3},
                                  {1, 1, 5, 5, 5, 1}, {3, 4, 4, 6, 1, 1}};

TEST(CpuMaxPool, ForwardAndBackwardMatchReference) {
  const Context ctx = cpu_context();
  int seed = 0;
  for (const MaxPool2dShape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    ++seed;
    const auto x = test::random_floats(s.x_size(), 70 + seed);
    std::vector<int32_t> argmax_expected;
    const auto y_expected = forward_reference(s, test::to_double(x), &argmax_expected);
    auto y = test::nan_filled(s.y_size());
    std::vector<int32_t> argmax(static_cast<size_t>(s.y_size()), -7);
    maxpool2d_forward(ctx, s, x.data(), y.data(), argmax.data());
    EXPECT_TRUE(all_close(y, y_expected, 0.0, 0.0, "y " + describe(s)));
    EXPECT_EQ(argmax, argmax_expected);

    // Backward: dx[argmax] += dy, exact on small integers (overlaps add up).
    const auto dy = test::random_small_ints(s.y_size(), 80 + seed);
    std::vector<double> dx_expected(static_cast<size_t>(s.x_size()), 0.0);
    const int64_t PQ = s.P() * s.Q();
    for (int64_t i = 0; i < s.y_size(); ++i)
      dx_expected[(i / PQ) * s.H * s.W + argmax_expected[i]] += dy[i];
    auto dx = test::nan_filled(s.x_size());
    maxpool2d_backward(ctx, s, dy.data(), argmax.data(), dx.data());
    EXPECT_TRUE(all_close(dx, dx_expected, 0.0, 0.0, "dx " + describe(s)));
  }
}

// L = sum(dy * maxpool(x)). Float kernel vs double difference: atol 1e-4, rtol 1e-3.
TEST(CpuMaxPool, BackwardMatchesFiniteDifferences) {
  const Context ctx = cpu_context();
  for (const MaxPool2dShape& s :
       {MaxPool2dShape{2, 2, 6, 6, 2, 2}, MaxPool2dShape{1, 2, 7, 5, 3, 2},
        MaxPool2dShape{1, 1, 5, 6, 3, 1}}) {
    SCOPED_TRACE(describe(s));
    const auto x = test::random_floats(s.x_size(), 90);
    const auto dy = test::random_floats(s.y_size(), 91);
    auto y = test::nan_filled(s.y_size());
    std::vector<int32_t> argmax(static_cast<size_t>(s.y_size()));
    maxpool2d_forward(ctx, s, x.data(), y.data(), argmax.data());
    auto dx = test::nan_filled(s.x_size());
    maxpool2d_backward(ctx, s, dy.data(), argmax.data(), dx.data());
    const auto dyd = test::to_double(dy);
    const auto numeric = test::numeric_gradient(
        [&](const std::vector<double>& xv) { return test::dot(dyd, forward_reference(s, xv)); },
        test::to_double(x));
    EXPECT_TRUE(all_close(dx, numeric, 1e-4, 1e-3, describe(s)));
  }
}

TEST(CpuMaxPool, TiesGoToTheFirstIndex) {
  const Context ctx = cpu_context();
  // One 2x4 image, kernel 2 stride 2: window 0 all equal, window 1 a tie
  // between (0,3) and (1,2) -> (0,3), the first in row-major order.
  const MaxPool2dShape s{1, 1, 2, 4, 2, 2};
  const std::vector<float> x = {5, 5, 1, 9,  //
                                5, 5, 9, 2};
  auto y = test::nan_filled(2);
  std::vector<int32_t> argmax(2, -1);
  maxpool2d_forward(ctx, s, x.data(), y.data(), argmax.data());
  EXPECT_EQ(y[0], 5.0f);
  EXPECT_EQ(argmax[0], 0);
  EXPECT_EQ(y[1], 9.0f);
  EXPECT_EQ(argmax[1], 3);
}

TEST(CpuMaxPool, NanWinsAndMinusInfinityKeepsTheFirstIndex) {
  const Context ctx = cpu_context();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // Four 2x2 windows in a 2x8 image: a NaN after a larger number; two NaNs
  // (PyTorch's `val > max || isnan(val)` records the later one); all -inf
  // (the first index); +inf against a NaN (NaN wins).
  const MaxPool2dShape s{1, 1, 2, 8, 2, 2};
  const std::vector<float> x = {7,   1, nan, 3,   -inf, -inf, inf, 1,  //
                                nan, 2, 4,   nan, -inf, -inf, 0,   nan};
  auto y = test::nan_filled(4);
  std::vector<int32_t> argmax(4, -1);
  maxpool2d_forward(ctx, s, x.data(), y.data(), argmax.data());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(argmax[0], 8);  // (1,0)
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(argmax[1], 11);  // (1,3), the later of (0,2) and (1,3)
  EXPECT_EQ(y[2], -inf);
  EXPECT_EQ(argmax[2], 4);  // (0,4), the window's first element
  EXPECT_TRUE(std::isnan(y[3]));
  EXPECT_EQ(argmax[3], 15);  // (1,7)
}

TEST(CpuMaxPool, OverlappingWindowsAccumulateGradient) {
  const Context ctx = cpu_context();
  // 1x1x3x3, kernel 2 stride 1: the centre wins all four windows.
  const MaxPool2dShape s{1, 1, 3, 3, 2, 1};
  const std::vector<float> x = {0, 0, 0, 0, 9, 0, 0, 0, 0};
  auto y = test::nan_filled(4);
  std::vector<int32_t> argmax(4, -1);
  maxpool2d_forward(ctx, s, x.data(), y.data(), argmax.data());
  EXPECT_EQ(argmax, (std::vector<int32_t>{4, 4, 4, 4}));
  const std::vector<float> dy = {1, 2, 3, 4};
  auto dx = test::nan_filled(9);
  maxpool2d_backward(ctx, s, dy.data(), argmax.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0}, 0.0, 0.0));
}

TEST(CpuMaxPool, ShapeChecks) {
  auto message = [](const MaxPool2dShape& s) -> std::string {
    try {
      check_maxpool2d_shape(s, "pool3");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message({1, 1, 2, 2, 2, 2}), "");
  EXPECT_EQ(message({1, 1, 7, 5, 3, 4}), "");
  const std::string too_big = message({1, 1, 4, 2, 3, 1});
  EXPECT_NE(too_big.find("pool3"), std::string::npos) << too_big;
  EXPECT_NE(too_big.find("kernel = 3"), std::string::npos) << too_big;
  EXPECT_NE(message({1, 1, 4, 4, 2, 0}).find("stride must be positive, found 0"),
            std::string::npos);
  EXPECT_NE(message({1, 1, 4, 4, 0, 1}).find("kernel must be positive, found 0"),
            std::string::npos);
  EXPECT_NE(message({1, -1, 4, 4, 2, 2}).find("channels C must be positive, found -1"),
            std::string::npos);
}

}  // namespace
}  // namespace cudp
