// Tests of the CPU conv2d (kernels/conv2d.h): forward and both backwards
// against naive double loops (exact on small integers), and both backwards
// against finite differences of a double forward.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/conv2d.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/conv2d_terms.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

std::string describe(const Conv2dShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " H=" + std::to_string(s.H) +
         " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K) + " R=" + std::to_string(s.R) +
         " S=" + std::to_string(s.S) + " stride=" + std::to_string(s.stride) +
         " padding=" + std::to_string(s.padding);
}

std::vector<double> forward_reference(const Conv2dShape& s, const std::vector<double>& x,
                                      const std::vector<double>& w) {
  std::vector<double> y(static_cast<size_t>(s.y_size()), 0.0);
  test::for_each_conv2d_term(s,
                             [&](int64_t yi, int64_t xi, int64_t wi) { y[yi] += w[wi] * x[xi]; });
  return y;
}
std::vector<double> backward_data_reference(const Conv2dShape& s, const std::vector<double>& dy,
                                            const std::vector<double>& w) {
  std::vector<double> dx(static_cast<size_t>(s.x_size()), 0.0);
  test::for_each_conv2d_term(s,
                             [&](int64_t yi, int64_t xi, int64_t wi) { dx[xi] += w[wi] * dy[yi]; });
  return dx;
}
std::vector<double> backward_weight_reference(const Conv2dShape& s, const std::vector<double>& x,
                                              const std::vector<double>& dy) {
  std::vector<double> dw(static_cast<size_t>(s.w_size()), 0.0);
  test::for_each_conv2d_term(s,
                             [&](int64_t yi, int64_t xi, int64_t wi) { dw[wi] += x[xi] * dy[yi]; });
  return dw;
}

// {N, C, H, W, K, R, S, stride, padding}: batch 1, odd and non-square images
// and filters, stride 1/2/3, padding 0/1/2, 1x1 filters (the path that skips
// im2col, and the strided one that does not), a filter as large as the padded
// image, and the default model's conv2 (C = K = 64, full GEMM tiles).
const Conv2dShape kShapes[] = {
    {1, 1, 5, 5, 1, 3, 3, 1, 0},   {2, 3, 7, 6, 4, 3, 3, 1, 1}, {3, 2, 9, 8, 5, 3, 2, 2, 0},
    {1, 4, 8, 8, 3, 1, 1, 1, 0},   {2, 2, 7, 7, 3, 1, 1, 2, 0}, {2, 3, 6, 5, 2, 5, 5, 1, 2},
    {1, 2, 5, 7, 3, 3, 3, 2, 2},   {2, 1, 4, 4, 2, 4, 4, 1, 0}, {1, 3, 11, 11, 2, 3, 3, 3, 1},
    {2, 5, 3, 3, 3, 2, 2, 1, 1},   {1, 1, 1, 1, 1, 3, 3, 1, 1}, {2, 64, 8, 8, 64, 3, 3, 1, 1},
    {1, 3, 32, 32, 16, 3, 3, 1, 1}};

// Small integers: every product and sum is exact in float (|sum| < 2^24).
TEST(CpuConv2d, SmallIntegersMatchNaiveLoopsExactly) {
  const Context ctx = cpu_context();
  int seed = 0;
  for (const Conv2dShape& s : kShapes) {
    SCOPED_TRACE(describe(s));
    ++seed;
    const auto x = test::random_small_ints(s.x_size(), 100 + seed);
    const auto w = test::random_small_ints(s.w_size(), 200 + seed);
    const auto dy = test::random_small_ints(s.y_size(), 300 + seed);
    const auto xd = test::to_double(x), wd = test::to_double(w), dyd = test::to_double(dy);

    auto y = test::nan_filled(s.y_size());
    conv2d_forward(ctx, s, x.data(), w.data(), y.data());
    EXPECT_TRUE(all_close(y, forward_reference(s, xd, wd), 0.0, 0.0, "y " + describe(s)));

    auto dx = test::nan_filled(s.x_size());
    conv2d_backward_data(ctx, s, dy.data(), w.data(), dx.data());
    EXPECT_TRUE(all_close(dx, backward_data_reference(s, dyd, wd), 0.0, 0.0, "dx " + describe(s)));

    auto dw = test::nan_filled(s.w_size());
    conv2d_backward_weight(ctx, s, x.data(), dy.data(), dw.data());
    EXPECT_TRUE(
        all_close(dw, backward_weight_reference(s, xd, dyd), 0.0, 0.0, "dw " + describe(s)));
  }
}

// Backwards overwrite: a second call on the same (now finite) outputs gives the
// same values, not twice them.
TEST(CpuConv2d, BackwardsOverwrite) {
  const Context ctx = cpu_context();
  const Conv2dShape s{2, 3, 6, 6, 4, 3, 3, 1, 1};
  const auto x = test::random_small_ints(s.x_size(), 1);
  const auto w = test::random_small_ints(s.w_size(), 2);
  const auto dy = test::random_small_ints(s.y_size(), 3);
  auto dx = test::nan_filled(s.x_size());
  auto dw = test::nan_filled(s.w_size());
  conv2d_backward_data(ctx, s, dy.data(), w.data(), dx.data());
  conv2d_backward_weight(ctx, s, x.data(), dy.data(), dw.data());
  auto dx2 = dx, dw2 = dw;
  conv2d_backward_data(ctx, s, dy.data(), w.data(), dx2.data());
  conv2d_backward_weight(ctx, s, x.data(), dy.data(), dw2.data());
  EXPECT_TRUE(test::all_identical(dx, dx2, "dx"));
  EXPECT_TRUE(test::all_identical(dw, dw2, "dw"));
}

// Random floats against the double forward and finite differences of
// L = sum(dy * conv(x, w)). The float kernels (sums of up to C*R*S or N*P*Q
// products of values in [-1, 1)) vs double: atol 1e-4, rtol 1e-3.
TEST(CpuConv2d, GradientsMatchFiniteDifferences) {
  const Context ctx = cpu_context();
  const Conv2dShape shapes[] = {{1, 1, 5, 5, 1, 3, 3, 1, 0}, {2, 3, 7, 6, 4, 3, 3, 1, 1},
                                {3, 2, 9, 8, 5, 3, 2, 2, 0}, {1, 4, 5, 5, 3, 1, 1, 1, 0},
                                {2, 2, 6, 5, 2, 5, 5, 1, 2}, {1, 2, 5, 7, 3, 3, 3, 2, 2},
                                {1, 3, 8, 9, 2, 3, 3, 3, 1}};
  int seed = 0;
  for (const Conv2dShape& s : shapes) {
    SCOPED_TRACE(describe(s));
    ++seed;
    const auto x = test::random_floats(s.x_size(), 400 + seed);
    const auto w = test::random_floats(s.w_size(), 500 + seed);
    const auto dy = test::random_floats(s.y_size(), 600 + seed);
    const auto xd = test::to_double(x), wd = test::to_double(w), dyd = test::to_double(dy);

    auto y = test::nan_filled(s.y_size());
    conv2d_forward(ctx, s, x.data(), w.data(), y.data());
    EXPECT_TRUE(all_close(y, forward_reference(s, xd, wd), 1e-5, 1e-5, "y " + describe(s)));

    auto dx = test::nan_filled(s.x_size());
    conv2d_backward_data(ctx, s, dy.data(), w.data(), dx.data());
    const auto num_dx = test::numeric_gradient(
        [&](const std::vector<double>& xv) { return test::dot(dyd, forward_reference(s, xv, wd)); },
        xd);
    EXPECT_TRUE(all_close(dx, num_dx, 1e-4, 1e-3, "dx " + describe(s)));

    auto dw = test::nan_filled(s.w_size());
    conv2d_backward_weight(ctx, s, x.data(), dy.data(), dw.data());
    const auto num_dw = test::numeric_gradient(
        [&](const std::vector<double>& wv) { return test::dot(dyd, forward_reference(s, xd, wv)); },
        wd);
    EXPECT_TRUE(all_close(dw, num_dw, 1e-4, 1e-3, "dw " + describe(s)));
  }
}

TEST(CpuConv2d, OutputSizeFollowsPyTorch) {
  // floor((H + 2*padding - R) / stride) + 1, as torch.nn.Conv2d.
  EXPECT_EQ((Conv2dShape{1, 1, 32, 32, 1, 3, 3, 1, 1}.P()), 32);
  EXPECT_EQ((Conv2dShape{1, 1, 7, 8, 1, 3, 3, 2, 0}.P()), 3);
  EXPECT_EQ((Conv2dShape{1, 1, 7, 8, 1, 3, 3, 2, 0}.Q()), 3);
  EXPECT_EQ((Conv2dShape{1, 1, 5, 6, 1, 5, 5, 1, 2}.Q()), 6);
}

TEST(CpuConv2d, ShapeChecksNameTheFieldAndValue) {
  auto message = [](const Conv2dShape& s) -> std::string {
    try {
      check_conv2d_shape(s, "conv7");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message({1, 3, 8, 8, 4, 3, 3, 1, 1}), "");
  EXPECT_EQ(message({2, 1, 4, 4, 2, 4, 4, 1, 0}), "");  // filter as large as the image
  const std::string too_tall = message({1, 1, 4, 6, 1, 5, 3, 1, 0});
  EXPECT_NE(too_tall.find("conv7"), std::string::npos) << too_tall;
  EXPECT_NE(too_tall.find("R = 5"), std::string::npos) << too_tall;
  const std::string too_wide = message({1, 1, 6, 4, 1, 3, 7, 1, 1});
  EXPECT_NE(too_wide.find("S = 7"), std::string::npos) << too_wide;
  EXPECT_NE(message({1, 1, 6, 6, 1, 3, 3, 0, 0}).find("stride must be positive, found 0"),
            std::string::npos);
  EXPECT_NE(message({1, 1, 6, 6, 1, 3, 3, 1, -1}).find("padding must be >= 0, found -1"),
            std::string::npos);
  EXPECT_NE(message({0, 1, 6, 6, 1, 3, 3, 1, 0}).find("batch size N must be positive, found 0"),
            std::string::npos);
  EXPECT_NE(message({1, 1, 6, 6, -2, 3, 3, 1, 0}).find("out-channels K"), std::string::npos);
  EXPECT_NE(message({1, 0, 6, 6, 1, 3, 3, 1, 0}).find("in-channels C"), std::string::npos);
  // The kernels check too, naming themselves.
  const Conv2dShape bad{1, 1, 2, 2, 1, 3, 3, 1, 0};
  std::vector<float> buffer(16, 0.0f);
  EXPECT_THROW(conv2d_forward(cpu_context(), bad, buffer.data(), buffer.data(), buffer.data()),
               Error);
}

}  // namespace
}  // namespace cudp
