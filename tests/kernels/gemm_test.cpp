// Tests of the CPU GEMM (kernels/gemm.h) against a naive double loop, and the
// Linear layer's three GEMMs (NT forward, NN backward-data, TN backward-weight)
// against finite differences.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

// op(A)(i,k) and op(B)(k,j) read straight from the layout's definition.
std::vector<double> gemm_reference(GemmLayout layout, int64_t M, int64_t N, int64_t K, double alpha,
                                   const std::vector<double>& A, const std::vector<double>& B,
                                   double beta, const std::vector<double>& C) {
  std::vector<double> out(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = layout == GemmLayout::TN ? A[k * M + i] : A[i * K + k];
        const double b = layout == GemmLayout::NT ? B[j * K + k] : B[k * N + j];
        sum += a * b;
      }
      out[i * N + j] = alpha * sum + (beta == 0.0 ? 0.0 : beta * C[i * N + j]);
    }
  return out;
}

struct GemmCase {
  int64_t M, N, K;
};

// Odd sizes, single rows/columns, K = 1, exact multiples of the 4 x 16 tile and
// sizes one past them, so both the full-tile and the edge path run.
const GemmCase kCases[] = {{1, 1, 1},   {3, 5, 7},    {4, 16, 1},   {4, 16, 33}, {5, 17, 9},
                           {1, 31, 2},  {33, 1, 9},   {17, 33, 65}, {8, 32, 64}, {37, 70, 129},
                           {64, 48, 3}, {2, 100, 50}, {100, 2, 50}};
const GemmLayout kLayouts[] = {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN};

std::string describe(GemmLayout layout, const GemmCase& c) {
  return std::string(gemm_layout_name(layout)) + " M=" + std::to_string(c.M) +
         " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K);
}

TEST(CpuGemm, LayoutNames) {
  EXPECT_STREQ(gemm_layout_name(GemmLayout::NN), "NN");
  EXPECT_STREQ(gemm_layout_name(GemmLayout::NT), "NT");
  EXPECT_STREQ(gemm_layout_name(GemmLayout::TN), "TN");
}

// Small integers make every sum exact in float: the result must equal the
// double loop bit for bit. C is NaN and beta == 0, so C must not be read.
TEST(CpuGemm, SmallIntegersExactBetaZeroIgnoresNanC) {
  const Context ctx = cpu_context();
  for (GemmLayout layout : kLayouts)
    for (const GemmCase& c : kCases) {
      SCOPED_TRACE(describe(layout, c));
      const auto A = test::random_small_ints(c.M * c.K, 1 + c.M);
      const auto B = test::random_small_ints(c.K * c.N, 2 + c.N);
      auto C = test::nan_filled(c.M * c.N);
      gemm(ctx, layout, c.M, c.N, c.K, 1.0f, A.data(), B.data(), 0.0f, C.data());
      const auto expected = gemm_reference(layout, c.M, c.N, c.K, 1.0, test::to_double(A),
                                           test::to_double(B), 0.0, {});
      EXPECT_TRUE(all_close(C, expected, 0.0, 0.0, describe(layout, c)));
    }
}

TEST(CpuGemm, SmallIntegersExactWithAlphaAndBeta) {
  const Context ctx = cpu_context();
  for (GemmLayout layout : kLayouts)
    for (const GemmCase& c : kCases) {
      SCOPED_TRACE(describe(layout, c));
      const auto A = test::random_small_ints(c.M * c.K, 3 + c.K);
      const auto B = test::random_small_ints(c.K * c.N, 4 + c.M);
      auto C = test::random_small_ints(c.M * c.N, 5);
      const auto C_before = test::to_double(C);
      gemm(ctx, layout, c.M, c.N, c.K, 2.0f, A.data(), B.data(), -3.0f, C.data());
      const auto expected = gemm_reference(layout, c.M, c.N, c.K, 2.0, test::to_double(A),
                                           test::to_double(B), -3.0, C_before);
      EXPECT_TRUE(all_close(C, expected, 0.0, 0.0, describe(layout, c)));
    }
}

// Random floats: float sums of up to 129 products of [-1,1) values, each off
// by at most ~K * 2^-24 relative: atol 1e-5, rtol 1e-5.
TEST(CpuGemm, RandomFloatsMatchDouble) {
  const Context ctx = cpu_context();
  for (GemmLayout layout : kLayouts)
    for (const GemmCase& c : kCases) {
      SCOPED_TRACE(describe(layout, c));
      const auto A = test::random_floats(c.M * c.K, 6 + c.M);
      const auto B = test::random_floats(c.K * c.N, 7 + c.N);
      auto C = test::random_floats(c.M * c.N, 8);
      const auto C_before = test::to_double(C);
      gemm(ctx, layout, c.M, c.N, c.K, 0.5f, A.data(), B.data(), 0.25f, C.data());
      const auto expected = gemm_reference(layout, c.M, c.N, c.K, 0.5, test::to_double(A),
                                           test::to_double(B), 0.25, C_before);
      EXPECT_TRUE(all_close(C, expected, 1e-5, 1e-5, describe(layout, c)));
    }
}

TEST(CpuGemm, KZeroGivesBetaTimesC) {
  const Context ctx = cpu_context();
  for (GemmLayout layout : kLayouts) {
    SCOPED_TRACE(gemm_layout_name(layout));
    auto C = test::nan_filled(6);
    gemm(ctx, layout, 2, 3, 0, 1.0f, nullptr, nullptr, 0.0f, C.data());
    EXPECT_TRUE(all_close(C, std::vector<double>(6, 0.0), 0.0, 0.0, "beta 0"));
    std::vector<float> D = {1, 2, 3, 4, 5, 6};
    gemm(ctx, layout, 2, 3, 0, 1.0f, nullptr, nullptr, 2.0f, D.data());
    EXPECT_TRUE(all_close(D, std::vector<double>{2, 4, 6, 8, 10, 12}, 0.0, 0.0, "beta 2"));
  }
}

TEST(CpuGemm, EmptyOutputWritesNothing) {
  const Context ctx = cpu_context();
  std::vector<float> guard = {7.0f};
  const std::vector<float> A = {1.0f, 2.0f};
  gemm(ctx, GemmLayout::NN, 0, 1, 2, 1.0f, A.data(), A.data(), 0.0f, guard.data());
  gemm(ctx, GemmLayout::NT, 1, 0, 2, 1.0f, A.data(), A.data(), 0.0f, guard.data());
  EXPECT_EQ(guard[0], 7.0f);
}

// Linear: Y = X W^T + b (gemm NT), dX = dY W (NN), dW = dY^T X (TN), db = sum_n dY.
// Checked against central differences of L = sum(dY * Y) in double. The float
// kernels vs the double difference: atol 1e-4, rtol 1e-3.
TEST(CpuGemm, LinearGradientsMatchFiniteDifferences) {
  const Context ctx = cpu_context();
  struct LinearCase {
    int64_t batch, in, out;
  };
  for (const LinearCase& c : {LinearCase{1, 3, 2}, LinearCase{5, 7, 3}, LinearCase{4, 20, 17}}) {
    SCOPED_TRACE("batch=" + std::to_string(c.batch) + " in=" + std::to_string(c.in) +
                 " out=" + std::to_string(c.out));
    const auto X = test::random_floats(c.batch * c.in, 11);
    const auto W = test::random_floats(c.out * c.in, 12);
    const auto b = test::random_floats(c.out, 13);
    const auto dY = test::random_floats(c.batch * c.out, 14);
    const auto dYd = test::to_double(dY);

    auto forward = [&](const std::vector<double>& x, const std::vector<double>& w,
                       const std::vector<double>& bias) {
      std::vector<double> y(static_cast<size_t>(c.batch * c.out));
      for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t o = 0; o < c.out; ++o) {
          double sum = bias[o];
          for (int64_t i = 0; i < c.in; ++i) sum += x[n * c.in + i] * w[o * c.in + i];
          y[n * c.out + o] = sum;
        }
      return y;
    };
    const auto Xd = test::to_double(X), Wd = test::to_double(W), bd = test::to_double(b);

    auto Y = test::nan_filled(c.batch * c.out);
    gemm(ctx, GemmLayout::NT, c.batch, c.out, c.in, 1.0f, X.data(), W.data(), 0.0f, Y.data());
    bias_add(ctx, c.batch, c.out, 1, b.data(), Y.data());
    EXPECT_TRUE(all_close(Y, forward(Xd, Wd, bd), 1e-5, 1e-5, "forward"));

    auto dX = test::nan_filled(c.batch * c.in);
    auto dW = test::nan_filled(c.out * c.in);
    auto db = test::nan_filled(c.out);
    gemm(ctx, GemmLayout::NN, c.batch, c.in, c.out, 1.0f, dY.data(), W.data(), 0.0f, dX.data());
    gemm(ctx, GemmLayout::TN, c.out, c.in, c.batch, 1.0f, dY.data(), X.data(), 0.0f, dW.data());
    bias_grad(ctx, c.batch, c.out, 1, dY.data(), db.data());

    const auto num_dX = test::numeric_gradient(
        [&](const std::vector<double>& x) { return test::dot(dYd, forward(x, Wd, bd)); }, Xd);
    const auto num_dW = test::numeric_gradient(
        [&](const std::vector<double>& w) { return test::dot(dYd, forward(Xd, w, bd)); }, Wd);
    const auto num_db = test::numeric_gradient(
        [&](const std::vector<double>& bias) { return test::dot(dYd, forward(Xd, Wd, bias)); }, bd);
    EXPECT_TRUE(all_close(dX, num_dX, 1e-4, 1e-3, "dX"));
    EXPECT_TRUE(all_close(dW, num_dW, 1e-4, 1e-3, "dW"));
    EXPECT_TRUE(all_close(db, num_db, 1e-4, 1e-3, "db"));
  }
}

}  // namespace
}  // namespace cudp
