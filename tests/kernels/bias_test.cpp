// Tests of the CPU bias add and bias gradient (kernels/bias.h) against double
// loops and finite differences.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/bias.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

struct BiasCase {
  int64_t N, K, inner;
};
// inner = 1 is Linear's [N, K]; the others are conv outputs [N, K, P*Q],
// including odd sizes and the default model's conv1 (32 x 64 x 1024).
const BiasCase kCases[] = {{1, 1, 1},  {3, 5, 1},  {1, 4, 9},     {2, 3, 7},
                           {5, 7, 13}, {4, 2, 37}, {32, 64, 1024}};

std::string describe(const BiasCase& c) {
  return "N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
         " inner=" + std::to_string(c.inner);
}

std::vector<double> add_reference(const BiasCase& c, std::vector<double> y,
                                  const std::vector<double>& b) {
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t i = 0; i < c.inner; ++i) y[(n * c.K + k) * c.inner + i] += b[k];
  return y;
}

TEST(CpuBias, AddAndGradMatchDoubleLoops) {
  const Context ctx = cpu_context();
  int seed = 0;
  for (const BiasCase& c : kCases) {
    SCOPED_TRACE(describe(c));
    ++seed;
    // bias_add on small integers is exact.
    auto y = test::random_small_ints(c.N * c.K * c.inner, 10 + seed);
    const auto b = test::random_small_ints(c.K, 20 + seed);
    const auto expected = add_reference(c, test::to_double(y), test::to_double(b));
    bias_add(ctx, c.N, c.K, c.inner, b.data(), y.data());
    EXPECT_TRUE(all_close(y, expected, 0.0, 0.0, "bias_add " + describe(c)));

    // bias_grad on random floats; the kernel sums in double, so only the final
    // rounding to float remains: atol 1e-6, rtol 1e-6.
    const auto dy = test::random_floats(c.N * c.K * c.inner, 30 + seed);
    std::vector<double> db_expected(static_cast<size_t>(c.K), 0.0);
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t k = 0; k < c.K; ++k)
        for (int64_t i = 0; i < c.inner; ++i) db_expected[k] += dy[(n * c.K + k) * c.inner + i];
    auto db = test::nan_filled(c.K);
    bias_grad(ctx, c.N, c.K, c.inner, dy.data(), db.data());
    EXPECT_TRUE(all_close(db, db_expected, 1e-6, 1e-6, "bias_grad " + describe(c)));
  }
}

// L = sum(dy * (y + b broadcast)); dL/db by central differences.
// Float kernel vs double difference: atol 1e-4, rtol 1e-3.
TEST(CpuBias, GradMatchesFiniteDifferences) {
  const Context ctx = cpu_context();
  for (const BiasCase& c : {BiasCase{3, 5, 1}, BiasCase{2, 3, 7}, BiasCase{4, 2, 37}}) {
    SCOPED_TRACE(describe(c));
    const auto y0 = test::to_double(test::random_floats(c.N * c.K * c.inner, 1));
    const auto b = test::to_double(test::random_floats(c.K, 2));
    const auto dy = test::random_floats(c.N * c.K * c.inner, 3);
    const auto dyd = test::to_double(dy);
    const auto numeric = test::numeric_gradient(
        [&](const std::vector<double>& bias) { return test::dot(dyd, add_reference(c, y0, bias)); },
        b);
    auto db = test::nan_filled(c.K);
    bias_grad(ctx, c.N, c.K, c.inner, dy.data(), db.data());
    EXPECT_TRUE(all_close(db, numeric, 1e-4, 1e-3, describe(c)));
  }
}

TEST(CpuBias, GradOverwrites) {
  const Context ctx = cpu_context();
  const std::vector<float> dy = {1, 2, 3, 4, 5, 6};  // N=1, K=2, inner=3
  std::vector<float> db = {100.0f, -100.0f};
  bias_grad(ctx, 1, 2, 3, dy.data(), db.data());
  EXPECT_EQ(db[0], 6.0f);
  EXPECT_EQ(db[1], 15.0f);
}

}  // namespace
}  // namespace cudp
