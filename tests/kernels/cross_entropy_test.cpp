// Tests of the CPU fused softmax cross-entropy (kernels/cross_entropy.h):
// loss and gradient against a double reference and finite differences, both
// reductions, ignore_index, bad targets and the all-ignored NaN.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cross_entropy.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/grad_check.h"

namespace cudp {
namespace {

using test::all_close;

// PyTorch's CrossEntropyLoss in double: sum (or mean over non-ignored rows) of
// logsumexp(x_i) - x_i[t_i]. Rows whose target is out of range are skipped.
double loss_reference(int64_t N, int64_t classes, const std::vector<double>& logits,
                      const std::vector<int32_t>& targets, const CrossEntropyOptions& options) {
  double total = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t t = targets[i];
    if (t == options.ignore_index || t < 0 || t >= classes) continue;
    double m = logits[i * classes];
    for (int64_t j = 1; j < classes; ++j) m = std::max(m, logits[i * classes + j]);
    double sum = 0.0;
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(logits[i * classes + j] - m);
    total += m + std::log(sum) - logits[i * classes + t];
    ++count;
  }
  if (options.reduction == Reduction::Sum) return total;
  return count == 0 ? std::nan("") : total / double(count);
}

struct CeCase {
  int64_t N, classes;
};
const CeCase kCases[] = {{1, 1}, {1, 10}, {5, 2}, {7, 10}, {32, 10}, {3, 37}};

std::string describe(const CeCase& c, const CrossEntropyOptions& o) {
  return "N=" + std::to_string(c.N) + " classes=" + std::to_string(c.classes) +
         (o.reduction == Reduction::Mean ? " mean" : " sum") +
         " ignore_index=" + std::to_string(o.ignore_index);
}

// Targets in range, with every third row (from row 1) set to ignore_index.
std::vector<int32_t> make_targets(const CeCase& c, int32_t ignore_index, uint64_t seed) {
  const auto r = test::random_floats(c.N, seed, 0.0f, float(c.classes));
  std::vector<int32_t> t(static_cast<size_t>(c.N));
  for (int64_t i = 0; i < c.N; ++i)
    t[i] = i % 3 == 1 ? ignore_index : std::min<int32_t>(int32_t(r[i]), int32_t(c.classes - 1));
  return t;
}

// Loss against the double reference (atol 1e-6, rtol 1e-6: the kernel works in
// double and rounds once); gradient against central differences of the double
// loss (atol 1e-5, rtol 1e-4: float rounding of values below 1).
TEST(CpuCrossEntropy, LossAndGradientMatchReferenceAndFiniteDifferences) {
  const Context ctx = cpu_context();
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum})
    for (int32_t ignore_index : {-100, 0})
      for (const CeCase& c : kCases) {
        const CrossEntropyOptions options{reduction, ignore_index};
        SCOPED_TRACE(describe(c, options));
        const auto logits = test::random_floats(c.N * c.classes, 7 + c.N, -4.0f, 4.0f);
        const auto targets = make_targets(c, ignore_index, 8 + c.classes);
        const auto logits_d = test::to_double(logits);
        float loss = std::nanf("");
        int32_t bad = 12345;
        auto dlogits = test::nan_filled(c.N * c.classes);
        cross_entropy(ctx, c.N, c.classes, logits.data(), targets.data(), options, &loss,
                      dlogits.data(), &bad);
        EXPECT_EQ(bad, -1);
        const double expected = loss_reference(c.N, c.classes, logits_d, targets, options);
        if (std::isnan(expected)) {  // every row ignored (classes = 1, ignore_index = 0)
          EXPECT_TRUE(std::isnan(loss));
          EXPECT_TRUE(all_close(dlogits, std::vector<double>(dlogits.size(), 0.0), 0.0, 0.0,
                                "all ignored: zero gradient"));
        } else {
          EXPECT_NEAR(loss, expected, 1e-6 + 1e-6 * std::fabs(expected));
          const auto numeric = test::numeric_gradient(
              [&](const std::vector<double>& x) {
                return loss_reference(c.N, c.classes, x, targets, options);
              },
              logits_d);
          EXPECT_TRUE(all_close(dlogits, numeric, 1e-5, 1e-4, describe(c, options)));
        }
        // Forward only: dlogits == nullptr gives the same loss.
        float loss_only = std::nanf("");
        cross_entropy(ctx, c.N, c.classes, logits.data(), targets.data(), options, &loss_only,
                      nullptr, &bad);
        EXPECT_TRUE(loss_only == loss || (std::isnan(loss_only) && std::isnan(loss)));
      }
}

TEST(CpuCrossEntropy, SumIsMeanTimesCount) {
  const Context ctx = cpu_context();
  const std::vector<float> logits = {1, 2, 3, 0, 0, 0, -1, 5, 2, 4, 4, 4};
  const std::vector<int32_t> targets = {2, -100, 1, 0};  // 3 counted rows
  float mean = 0, sum = 0;
  int32_t bad = 0;
  std::vector<float> dmean(12), dsum(12);
  cross_entropy(ctx, 4, 3, logits.data(), targets.data(), {Reduction::Mean, -100}, &mean,
                dmean.data(), &bad);
  cross_entropy(ctx, 4, 3, logits.data(), targets.data(), {Reduction::Sum, -100}, &sum, dsum.data(),
                &bad);
  EXPECT_NEAR(sum, 3.0 * mean, 1e-6);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(dsum[i], 3.0 * dmean[i], 1e-6) << i;
  for (int j = 3; j < 6; ++j) EXPECT_EQ(dsum[j], 0.0f) << "ignored row " << j;
  // Row 3 (all logits equal, target 0): loss log(3), gradient (1/3 - 1, 1/3, 1/3).
  EXPECT_NEAR(dsum[9], 1.0 / 3.0 - 1.0, 1e-7);
  EXPECT_NEAR(dsum[10], 1.0 / 3.0, 1e-7);
}

// Large logits: a naive exp would overflow; the max-subtracted one is exact.
TEST(CpuCrossEntropy, NumericallyStableForLargeLogits) {
  const Context ctx = cpu_context();
  const std::vector<float> logits = {1000.0f, 0.0f, -1000.0f, 500.0f, 500.0f, 500.0f};
  const std::vector<int32_t> targets = {0, 1};
  float loss = 0;
  int32_t bad = 0;
  std::vector<float> d(6);
  cross_entropy(ctx, 2, 3, logits.data(), targets.data(), {Reduction::Sum, -100}, &loss, d.data(),
                &bad);
  EXPECT_NEAR(loss, std::log(3.0), 1e-6);  // row 0 contributes 0
  EXPECT_TRUE(all_close(d, std::vector<double>{0, 0, 0, 1.0 / 3, -2.0 / 3, 1.0 / 3}, 1e-7, 0));
}

TEST(CpuCrossEntropy, AllIgnoredGivesNanMeanZeroSumZeroGradient) {
  const Context ctx = cpu_context();
  const auto logits = test::random_floats(8, 1);
  const std::vector<int32_t> targets = {-100, -100};
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
    float loss = 0;
    int32_t bad = 99;
    auto d = test::nan_filled(8);
    cross_entropy(ctx, 2, 4, logits.data(), targets.data(), {reduction, -100}, &loss, d.data(),
                  &bad);
    if (reduction == Reduction::Mean) {
      EXPECT_TRUE(std::isnan(loss)) << loss;  // 0/0, as PyTorch
    } else {
      EXPECT_EQ(loss, 0.0f);
    }
    EXPECT_EQ(bad, -1);
    EXPECT_TRUE(all_close(d, std::vector<double>(8, 0.0), 0.0, 0.0, "zero gradient"));
  }
}

// Out-of-range targets: reported as the smallest bad row, left out of the loss
// and the count, zero gradient. The logits sit between NaN guards, so a read
// of x[t] outside the array would turn the loss into NaN.
TEST(CpuCrossEntropy, BadTargetsAreReportedAndNeverRead) {
  const Context ctx = cpu_context();
  const int64_t N = 6, classes = 4, guard = 64;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> storage(static_cast<size_t>(guard + N * classes + guard), nan);
  const auto values = test::random_floats(N * classes, 3);
  std::copy(values.begin(), values.end(), storage.begin() + guard);
  const float* logits = storage.data() + guard;
  // Row 0 fine, row 1 = classes, row 2 ignored, row 3 = -1 (not the ignore
  // index), row 4 fine, row 5 = INT32_MIN.
  const std::vector<int32_t> targets = {2, 4, -100, -1, 0, std::numeric_limits<int32_t>::min()};
  const std::vector<int32_t> good_only = {2, -100, -100, -100, 0, -100};
  for (Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
    float loss = nan, loss_good = nan;
    int32_t bad = 12345, bad_good = 12345;
    auto d = test::nan_filled(N * classes), d_good = test::nan_filled(N * classes);
    cross_entropy(ctx, N, classes, logits, targets.data(), {reduction, -100}, &loss, d.data(),
                  &bad);
    cross_entropy(ctx, N, classes, logits, good_only.data(), {reduction, -100}, &loss_good,
                  d_good.data(), &bad_good);
    EXPECT_EQ(bad, 1);
    EXPECT_EQ(bad_good, -1);
    EXPECT_FALSE(std::isnan(loss));
    EXPECT_EQ(loss, loss_good);  // the bad rows count for nothing, not even in the mean
    EXPECT_TRUE(test::all_identical(d, d_good, "gradient"));
  }
  // The first bad row is the smallest even when a larger one comes first in value.
  const std::vector<int32_t> late = {0, 1, 2, 3, 100, -5};
  float loss = 0;
  int32_t bad = 0;
  cross_entropy(ctx, N, classes, logits, late.data(), {}, &loss, nullptr, &bad);
  EXPECT_EQ(bad, 4);
}

}  // namespace
}  // namespace cudp
