// CUDA fused softmax cross-entropy, every version, against the CPU twin
// (kernels/cross_entropy.h, kernels/cuda/cross_entropy.cu).
//
// The CPU twin computes in double and the GPU in float with expf/logf: the loss is held to
// atol = rtol = 1e-5 (a mean of terms of size ~log(classes)) and dlogits to rtol = 1e-4,
// atol = 1e-5 * max |dlogits| (softmax probabilities from expf of a float difference whose
// logsumexp carries ~1e-7 * |lse| of error; max |dlogits| ~ the mean's 1/count scale).
// first_bad_row and the zero gradient of ignored and bad rows are compared exactly. Class
// counts cover warp-size edges (1, 31, 33), float4 rows (4, 1000) and a row longer than a
// warp's stride many times over (2049); 20000 rows walk v2's warp-per-row grid-stride loop
// twice, and 3000 rows the count kernel's block loop three times. Non-finite logits follow
// the CPU twin: a NaN or +inf logit makes its row's loss and gradient NaN (inf - inf in the
// max-shifted exponent), a -inf logit is a zero probability (the loss is +inf when it is
// the target's). Determinism: two runs agree bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cross_entropy.h"
#include "kernels/cuda/versions.h"
#include "runtime/rng.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

using test::all_close;
using test::all_identical;

struct Result {
  float loss = 0.0f;
  int32_t first_bad_row = 0;
  std::vector<float> dlogits;
};

std::vector<int32_t> random_targets(int64_t N, int64_t classes, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t(N);
  for (auto& x : t) x = static_cast<int32_t>(rng.below(classes));
  return t;
}

class CudaCrossEntropy : public test::CudaTest {
 protected:
  Result run_cpu(int64_t N, int64_t classes, const std::vector<float>& logits,
                 const std::vector<int32_t>& targets, const CrossEntropyOptions& o) {
    Result r;
    r.dlogits.assign(N * classes, 0.0f);
    cpu::cross_entropy(cpu, N, classes, logits.data(), targets.data(), o, &r.loss, r.dlogits.data(),
                       &r.first_bad_row);
    return r;
  }
  Result run_gpu(int version, int64_t N, int64_t classes, const std::vector<float>& logits,
                 const std::vector<int32_t>& targets, const CrossEntropyOptions& o,
                 bool with_grad = true) {
    const auto d_logits = upload(logits);
    const auto d_targets = upload(targets);
    auto loss = poisoned<float>(1);
    auto bad = poisoned<int32_t>(1);
    auto dlogits = poisoned<float>(N * classes);
    cuda::cross_entropy_version(version, gpu, N, classes, d_logits.data(), d_targets.data(), o,
                                loss.data(), with_grad ? dlogits.data() : nullptr, bad.data());
    Result r;
    r.loss = download(loss)[0];
    r.first_bad_row = download(bad)[0];
    if (with_grad) r.dlogits = download(dlogits);
    return r;
  }
  void compare(const Result& gpu_result, const Result& ref, const std::string& what) {
    EXPECT_EQ(gpu_result.first_bad_row, ref.first_bad_row) << what;
    if (std::isnan(ref.loss)) {
      EXPECT_TRUE(std::isnan(gpu_result.loss)) << what << ": loss " << gpu_result.loss;
    } else if (std::isinf(ref.loss)) {
      EXPECT_EQ(gpu_result.loss, ref.loss) << what;
    } else {
      EXPECT_NEAR(gpu_result.loss, ref.loss, 1e-5 + 1e-5 * std::fabs(ref.loss)) << what;
    }
    if (!gpu_result.dlogits.empty()) {
      // NaN exactly where the CPU has NaN (rows with a NaN or +inf logit); elsewhere the
      // gradient's scale is 1/count: atol follows its largest entry, |p_t - 1| * scale.
      std::vector<float> actual = gpu_result.dlogits, expected = ref.dlogits;
      ASSERT_EQ(actual.size(), expected.size()) << what;
      double largest = 0.0;
      int64_t nan_mismatches = 0, first_mismatch = -1;
      for (std::size_t i = 0; i < expected.size(); ++i) {
        if (std::isnan(expected[i]) != std::isnan(actual[i])) {
          if (nan_mismatches++ == 0) first_mismatch = static_cast<int64_t>(i);
        }
        if (std::isnan(expected[i]) || std::isnan(actual[i])) {
          actual[i] = expected[i] = 0.0f;  // compared above
        } else {
          largest = std::max(largest, std::fabs(static_cast<double>(expected[i])));
        }
      }
      EXPECT_EQ(nan_mismatches, 0) << what << ": dlogits NaN where the CPU has none or the "
                                   << "reverse, first at [" << first_mismatch << "]";
      EXPECT_TRUE(all_close(actual, expected, 1e-5 * largest, 1e-4, "dlogits " + what));
    }
  }
};

TEST_F(CudaCrossEntropy, MatchesCpuOnShapesReductionsAndIgnoredRows) {
  struct Case {
    int64_t N, classes;
  };
  const Case cases[] = {{1, 1},   {1, 10},   {7, 10},   {33, 1000},   {64, 33},
                        {130, 4}, {5, 2049}, {257, 31}, {1024, 1000}, {20000, 10}};
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v)
    for (const Case& c : cases)
      for (Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
        CrossEntropyOptions o;
        o.reduction = reduction;
        const auto logits = test::random_floats(c.N * c.classes, c.N + c.classes, -4.0f, 4.0f);
        auto targets = random_targets(c.N, c.classes, c.N * 7 + 1);
        for (int64_t i = 2; i < c.N; i += 5) targets[i] = o.ignore_index;
        const std::string what = "v" + std::to_string(v) + " N=" + std::to_string(c.N) +
                                 " classes=" + std::to_string(c.classes) +
                                 (reduction == Reduction::Mean ? " mean" : " sum");
        const Result ref = run_cpu(c.N, c.classes, logits, targets, o);
        compare(run_gpu(v, c.N, c.classes, logits, targets, o), ref, what);
        compare(run_gpu(v, c.N, c.classes, logits, targets, o, false), ref, what + " no grad");
      }
}

TEST_F(CudaCrossEntropy, BadTargetsReportTheFirstBadRow) {
  const int64_t N = 40, classes = 12;
  const auto logits = test::random_floats(N * classes, 3, -3.0f, 3.0f);
  auto targets = random_targets(N, classes, 4);
  targets[1] = -100;      // ignored, not bad
  targets[9] = classes;   // bad (one past the end)
  targets[5] = -5;        // bad, and the first one
  targets[30] = 1 << 30;  // bad, far out: must never be used as an index
  CrossEntropyOptions o;
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v) {
    const Result ref = run_cpu(N, classes, logits, targets, o);
    ASSERT_EQ(ref.first_bad_row, 5);
    const Result r = run_gpu(v, N, classes, logits, targets, o);
    compare(r, ref, "v" + std::to_string(v) + " bad targets");
    for (int64_t row : {1, 5, 9, 30})
      for (int64_t j = 0; j < classes; ++j)
        EXPECT_EQ(r.dlogits[row * classes + j], 0.0f) << "row " << row << " class " << j;
  }
}

// 3000 rows: the count kernel's 1024 threads take rows i, i + 1024, i + 2048, so the bad rows
// 2500 and 1500 are met by different threads on different passes; the smaller must win.
TEST_F(CudaCrossEntropy, FirstBadRowAcrossStridePasses) {
  const int64_t N = 3000, classes = 10;
  const auto logits = test::random_floats(N * classes, 12, -3.0f, 3.0f);
  auto targets = random_targets(N, classes, 13);
  targets[2500] = -7;
  targets[1500] = classes;
  targets[2900] = -100;  // ignored, not bad
  CrossEntropyOptions o;
  const Result ref = run_cpu(N, classes, logits, targets, o);
  ASSERT_EQ(ref.first_bad_row, 1500);
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v)
    compare(run_gpu(v, N, classes, logits, targets, o), ref, "v" + std::to_string(v));
}

// One special row between two ordinary ones, for the scalar (7 classes) and float4 (40) rows;
// the loss and every gradient entry are pinned to the CPU twin (NaN where it gives NaN).
TEST_F(CudaCrossEntropy, InfiniteLogitsFollowTheCpu) {
  const float inf = std::numeric_limits<float>::infinity();
  struct Special {
    const char* name;
    float value;        // written at column `column` of row 1, or the whole row when column < 0
    int column;         // the target of row 1 is column 3
    float also = 0.0f;  // a second special value at column 5 when nonzero
  };
  const Special specials[] = {{"+inf off target", inf, 5},  {"+inf at target", inf, 3},
                              {"-inf off target", -inf, 5}, {"-inf at target", -inf, 3},
                              {"all -inf", -inf, -1},       {"+inf and -inf", inf, 1, -inf},
                              {"two +inf", inf, 0, inf}};
  for (int64_t classes : {int64_t{7}, int64_t{40}})
    for (const Special& sp : specials)
      for (Reduction reduction : {Reduction::Mean, Reduction::Sum}) {
        const int64_t N = 3;
        auto logits = test::random_floats(N * classes, 14, -2.0f, 2.0f);
        float* row = logits.data() + classes;
        if (sp.column < 0) {
          for (int64_t j = 0; j < classes; ++j) row[j] = sp.value;
        } else {
          row[sp.column] = sp.value;
        }
        if (sp.also != 0.0f) row[5] = sp.also;
        const std::vector<int32_t> targets = {0, 3, 6};
        CrossEntropyOptions o;
        o.reduction = reduction;
        const Result ref = run_cpu(N, classes, logits, targets, o);
        for (int v = 1; v <= cuda::cross_entropy_versions(); ++v)
          compare(run_gpu(v, N, classes, logits, targets, o), ref,
                  "v" + std::to_string(v) + " " + sp.name + " classes=" + std::to_string(classes) +
                      (reduction == Reduction::Mean ? " mean" : " sum"));
      }
}

TEST_F(CudaCrossEntropy, IgnoreIndexInsideTheClassRange) {
  const int64_t N = 50, classes = 6;
  const auto logits = test::random_floats(N * classes, 5);
  const auto targets = random_targets(N, classes, 6);  // about 1 in 6 rows is class 2
  CrossEntropyOptions o;
  o.ignore_index = 2;
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v)
    compare(run_gpu(v, N, classes, logits, targets, o), run_cpu(N, classes, logits, targets, o),
            "v" + std::to_string(v) + " ignore_index 2");
}

TEST_F(CudaCrossEntropy, EveryRowIgnoredGivesNanMeanAndZeroGradient) {
  const int64_t N = 9, classes = 5;
  const auto logits = test::random_floats(N * classes, 7);
  const std::vector<int32_t> targets(N, -100);
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v) {
    CrossEntropyOptions o;
    const Result r = run_gpu(v, N, classes, logits, targets, o);
    EXPECT_TRUE(std::isnan(r.loss)) << "v" << v << ": mean over no rows gave " << r.loss;
    EXPECT_EQ(r.first_bad_row, -1);
    EXPECT_TRUE(all_identical(r.dlogits, std::vector<float>(N * classes, 0.0f), "dlogits"));
    o.reduction = Reduction::Sum;
    EXPECT_EQ(run_gpu(v, N, classes, logits, targets, o).loss, 0.0f) << "v" << v;
  }
}

TEST_F(CudaCrossEntropy, EmptyBatch) {
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v) {
    CrossEntropyOptions o;
    const Result r = run_gpu(v, 0, 10, {}, {}, o);
    EXPECT_TRUE(std::isnan(r.loss)) << "v" << v;
    EXPECT_EQ(r.first_bad_row, -1);
  }
}

TEST_F(CudaCrossEntropy, NanLogitMakesTheLossNan) {
  const int64_t N = 4, classes = 40;
  auto logits = test::random_floats(N * classes, 8);
  logits[2 * classes + 17] = std::numeric_limits<float>::quiet_NaN();
  const auto targets = random_targets(N, classes, 9);
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v) {
    const Result r = run_gpu(v, N, classes, logits, targets, CrossEntropyOptions{});
    EXPECT_TRUE(std::isnan(r.loss)) << "v" << v << ": loss " << r.loss;
    for (int64_t j = 0; j < classes; ++j) EXPECT_TRUE(std::isnan(r.dlogits[2 * classes + j]));
    for (int64_t j = 0; j < classes; ++j) EXPECT_FALSE(std::isnan(r.dlogits[j]));
  }
}

TEST_F(CudaCrossEntropy, DeterministicRunToRunAndPublicOp) {
  const int64_t N = 2048, classes = 1000;
  const auto logits = test::random_floats(N * classes, 10, -5.0f, 5.0f);
  const auto targets = random_targets(N, classes, 11);
  const CrossEntropyOptions o;
  for (int v = 1; v <= cuda::cross_entropy_versions(); ++v) {
    const Result a = run_gpu(v, N, classes, logits, targets, o);
    const Result b = run_gpu(v, N, classes, logits, targets, o);
    EXPECT_TRUE(all_identical({a.loss}, {b.loss}, "loss"));
    EXPECT_TRUE(all_identical(a.dlogits, b.dlogits, "dlogits"));
  }
  const auto d_logits = upload(logits);
  const auto d_targets = upload(targets);
  auto loss = poisoned<float>(1);
  auto bad = poisoned<int32_t>(1);
  auto dlogits = poisoned<float>(N * classes);
  cross_entropy(gpu, N, classes, d_logits.data(), d_targets.data(), o, loss.data(), dlogits.data(),
                bad.data());
  Result r;
  r.loss = download(loss)[0];
  r.first_bad_row = download(bad)[0];
  r.dlogits = download(dlogits);
  compare(r, run_cpu(N, classes, logits, targets, o), "public cross_entropy");
}

// Two host threads on one stream (the default one), batch sizes growing so that the kernel
// scratch grows again and again: each thread has its own scratch buffer (common.cu), so
// neither frees memory the other's queued kernels still use (run under memcheck to see it).
TEST_F(CudaCrossEntropy, TwoHostThreadsOnOneStream) {
  const int64_t classes = 10;
  const CrossEntropyOptions o;
  std::vector<Result> results[2];
  std::vector<int64_t> sizes;
  for (int64_t i = 1; i <= 12; ++i) sizes.push_back(100 * i * i);
  auto work = [&](int t) {
    for (int64_t N : sizes) {
      const auto logits = test::random_floats(N * classes, N + t);
      results[t].push_back(run_gpu(cuda::cross_entropy_default_version(), N, classes, logits,
                                   random_targets(N, classes, N * 3 + t), o));
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  for (int t = 0; t < 2; ++t)
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const int64_t N = sizes[i];
      const auto logits = test::random_floats(N * classes, N + t);
      compare(results[t][i], run_cpu(N, classes, logits, random_targets(N, classes, N * 3 + t), o),
              "thread " + std::to_string(t) + " N=" + std::to_string(N));
    }
}

}  // namespace
}  // namespace cudp
