// Tests of the CPU level-1 ops (kernels/axpy.h): y += alpha * x and x *= alpha.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/axpy.h"
#include "kernels/finite.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

using test::all_close;

// Small integers and alpha = -2 keep every result exact.
TEST(CpuAxpy, AxpyAndScaleExactOnSmallIntegers) {
  const Context ctx = cpu_context();
  for (int64_t n : {1, 7, 8, 33, 1001}) {
    SCOPED_TRACE(n);
    const auto x = test::random_small_ints(n, 50 + n);
    auto y = test::random_small_ints(n, 60 + n);
    std::vector<double> expected(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) expected[i] = double(y[i]) - 2.0 * double(x[i]);
    axpy(ctx, n, -2.0f, x.data(), y.data());
    EXPECT_TRUE(all_close(y, expected, 0.0, 0.0, "axpy"));

    auto z = x;
    for (int64_t i = 0; i < n; ++i) expected[i] = -2.0 * double(x[i]);
    scale(ctx, n, -2.0f, z.data());
    EXPECT_TRUE(all_close(z, expected, 0.0, 0.0, "scale"));
  }
}

TEST(CpuAxpy, EmptyIsANoOp) {
  const Context ctx = cpu_context();
  std::vector<float> y = {3.0f};
  axpy(ctx, 0, 1.0f, y.data(), y.data());
  scale(ctx, 0, 5.0f, y.data());
  EXPECT_EQ(y[0], 3.0f);
}

// Plain IEEE: alpha == 0 does not clear a NaN (documented in kernels/cpu/axpy.cpp).
TEST(CpuAxpy, ScaleByZeroKeepsNan) {
  const Context ctx = cpu_context();
  std::vector<float> x = {std::nanf(""), 4.0f};
  scale(ctx, 2, 0.0f, x.data());
  EXPECT_TRUE(std::isnan(x[0]));
  EXPECT_EQ(x[1], 0.0f);
}

// scale_by reads its factor when it runs: the bits of scale with that factor.
TEST(CpuAxpy, ScaleByReadsTheFactorFromMemory) {
  const Context ctx = cpu_context();
  auto x = test::random_floats(33, 8), y = x;
  float alpha = 1.0f / 9.0f;  // ddp's loss weight: 1 / counted
  scale(ctx, 33, alpha, x.data());
  scale_by(ctx, 33, &alpha, y.data());
  EXPECT_TRUE(test::all_identical(y, x, "scale_by vs scale"));
}

// The device-side divergence check: sets the flag on a non-finite product, leaves it otherwise.
TEST(CpuFinite, MarksANonFiniteLossAndNeverClearsTheFlag) {
  const Context ctx = cpu_context();
  const std::vector<float> fine = {1.5f, 0.0f, 3.0f};
  int32_t flag = 0;
  mark_not_finite(ctx, 3, fine.data(), nullptr, &flag);
  EXPECT_EQ(flag, 0);
  const float weight = 1.0f / 32.0f;
  mark_not_finite(ctx, 3, fine.data(), &weight, &flag);
  EXPECT_EQ(flag, 0);
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> values = fine;
    values[1] = bad;
    flag = 0;
    mark_not_finite(ctx, 3, values.data(), nullptr, &flag);
    EXPECT_EQ(flag, 1) << bad;
  }
  // Every target ignored: each shard's sum is 0, the weight 1/0 = inf, the product NaN.
  const float all_ignored = INFINITY;
  flag = 0;
  mark_not_finite(ctx, 3, std::vector<float>(3, 0.0f).data(), &all_ignored, &flag);
  EXPECT_EQ(flag, 1);
  mark_not_finite(ctx, 3, fine.data(), nullptr, &flag);  // a later check never clears it
  EXPECT_EQ(flag, 1);
  // A target out of range (cross_entropy's first bad row, -1: none).
  const std::vector<int32_t> none = {-1, -1}, one = {-1, 3};
  flag = 0;
  mark_bad_rows(ctx, 2, none.data(), &flag);
  EXPECT_EQ(flag, 0);
  mark_bad_rows(ctx, 2, one.data(), &flag);
  EXPECT_EQ(flag, 1);
}

}  // namespace
}  // namespace cudp
