// The v2 elementwise ops (threads; AVX2 max-pool and SGD; kernels/cpu/versions.h)
// against their v1 twins: bitwise equal for 1, 2 and 3 threads, with NaN, -0, +-inf,
// ties and ragged tails in the data, in place where the contract allows it.
//
// Every comparison is bitwise: none of these ops has a sum that v2 reorders
// (bias_grad sums each channel whole, as v1), and SGD rounds every operation
// on its own in both versions. SGD's NaNs are only compared as NaNs: its vector
// code and v1's scalar code may take a NaN operand's sign from either side.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/versions.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/kernels/versions_check.h"

namespace cudp {
namespace {

using test::same_bits;

const float kNan = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

// Random floats with specials sprinkled in at fixed positions.
std::vector<float> with_specials(int64_t n, uint64_t seed) {
  auto v = test::random_floats(n, seed);
  const float specials[] = {kNan, -0.0f, 0.0f, kInf, -kInf, 1e-40f, -1e-40f};
  for (int64_t i = 3; i < n; i += 17) v[static_cast<size_t>(i)] = specials[(i / 17) % 7];
  return v;
}

const int kThreads[] = {1, 2, 3};
const int64_t kSizes[] = {0, 1, 7, 64, 65, 1000, 100003};

TEST(CpuElementwiseVersions, ReluForwardAndBackwardMatchV1InPlaceToo) {
  for (int64_t n : kSizes) {
    const auto x = with_specials(n, 1), dy = with_specials(n, 2);
    auto y1 = test::nan_filled(n), dx1 = test::nan_filled(n);
    cpu::relu_forward_version(1, cpu_context(), n, x.data(), y1.data());
    cpu::relu_backward_version(1, cpu_context(), n, y1.data(), dy.data(), dx1.data());
    for (int threads : kThreads) {
      const std::string what = "n=" + std::to_string(n) + " threads=" + std::to_string(threads);
      auto y = x;  // in place: y aliases x
      cpu::relu_forward_version(2, cpu_context(threads), n, y.data(), y.data());
      EXPECT_TRUE(same_bits(y, y1, "relu_forward " + what));
      auto dx = dy;  // in place: dx aliases dy
      cpu::relu_backward_version(2, cpu_context(threads), n, y1.data(), dx.data(), dx.data());
      EXPECT_TRUE(same_bits(dx, dx1, "relu_backward " + what));
    }
  }
}

TEST(CpuElementwiseVersions, BiasAddAndGradMatchV1) {
  struct Case {
    int64_t N, K, inner;
  };
  for (const Case& c : {Case{5, 64, 1024}, Case{32, 512, 1}, Case{3, 7, 5}, Case{1, 1, 1}}) {
    const int64_t size = c.N * c.K * c.inner;
    const auto b = with_specials(c.K, 3), y0 = with_specials(size, 4);
    auto y1 = y0, db1 = test::nan_filled(c.K);
    cpu::bias_add_version(1, cpu_context(), c.N, c.K, c.inner, b.data(), y1.data());
    cpu::bias_grad_version(1, cpu_context(), c.N, c.K, c.inner, y0.data(), db1.data());
    for (int threads : kThreads) {
      const std::string what = "N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
                               " inner=" + std::to_string(c.inner) +
                               " threads=" + std::to_string(threads);
      auto y = y0, db = test::nan_filled(c.K);
      cpu::bias_add_version(2, cpu_context(threads), c.N, c.K, c.inner, b.data(), y.data());
      cpu::bias_grad_version(2, cpu_context(threads), c.N, c.K, c.inner, y0.data(), db.data());
      EXPECT_TRUE(same_bits(y, y1, "bias_add " + what));
      EXPECT_TRUE(same_bits(db, db1, "bias_grad " + what));
    }
  }
}

std::vector<float> as_floats(const std::vector<int32_t>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i]);
  return out;
}

// 2x2 stride 2 with Q % 8 tails, odd H and W (a row and column no window reads),
// a 3x3 stride 2 window (v1's loop in v2) and overlapping 3x3 stride 1. Values in
// {-1, 0, 1} make ties everywhere; NaNs and -inf windows test the scan order.
TEST(CpuElementwiseVersions, MaxPoolForwardAndBackwardMatchV1WithTiesAndNans) {
  struct Case {
    int64_t N, C, H, W, kernel, stride;
  };
  const Case cases[] = {{2, 3, 32, 32, 2, 2},  {3, 5, 9, 37, 2, 2},  {1, 2, 4, 2, 2, 2},
                        {2, 64, 16, 16, 2, 2}, {2, 3, 11, 13, 3, 2}, {1, 2, 7, 8, 3, 1}};
  for (const Case& c : cases) {
    MaxPool2dShape s;
    s.N = c.N, s.C = c.C, s.H = c.H, s.W = c.W, s.kernel = c.kernel, s.stride = c.stride;
    auto x = test::random_small_ints(s.x_size(), 5, 1);
    for (int64_t i = 5; i < s.x_size(); i += 23) x[static_cast<size_t>(i)] = kNan;
    for (int64_t i = 0; i < std::min<int64_t>(s.x_size(), 2 * s.W); ++i)
      x[static_cast<size_t>(i)] = -kInf;
    const auto dy = with_specials(s.y_size(), 6);
    auto y1 = test::nan_filled(s.y_size()), dx1 = test::nan_filled(s.x_size());
    std::vector<int32_t> arg1(static_cast<size_t>(s.y_size()), -1);
    cpu::maxpool2d_forward_version(1, cpu_context(), s, x.data(), y1.data(), arg1.data());
    cpu::maxpool2d_backward_version(1, cpu_context(), s, dy.data(), arg1.data(), dx1.data());
    for (int threads : kThreads) {
      const std::string what =
          "N=" + std::to_string(c.N) + " C=" + std::to_string(c.C) + " H=" + std::to_string(c.H) +
          " W=" + std::to_string(c.W) + " kernel=" + std::to_string(c.kernel) +
          " stride=" + std::to_string(c.stride) + " threads=" + std::to_string(threads);
      auto y = test::nan_filled(s.y_size()), dx = test::nan_filled(s.x_size());
      std::vector<int32_t> arg(static_cast<size_t>(s.y_size()), -1);
      cpu::maxpool2d_forward_version(2, cpu_context(threads), s, x.data(), y.data(), arg.data());
      cpu::maxpool2d_backward_version(2, cpu_context(threads), s, dy.data(), arg1.data(),
                                      dx.data());
      EXPECT_TRUE(same_bits(y, y1, "maxpool forward " + what));
      EXPECT_TRUE(same_bits(as_floats(arg), as_floats(arg1), "maxpool argmax " + what));
      EXPECT_TRUE(same_bits(dx, dx1, "maxpool backward " + what));
    }
  }
}

TEST(CpuElementwiseVersions, SgdMatchesV1EveryOptionFirstStepAndTail) {
  struct Opts {
    float momentum, dampening, weight_decay;
    bool nesterov, maximize;
  };
  const Opts options[] = {{0.0f, 0.0f, 0.0f, false, false},  {0.0f, 0.0f, 0.01f, false, true},
                          {0.9f, 0.0f, 0.0f, false, false},  {0.9f, 0.1f, 0.01f, false, false},
                          {0.9f, 0.0f, 0.001f, true, false}, {0.5f, 0.0f, 0.0f, true, true}};
  for (const Opts& o : options)
    for (bool first : {true, false})
      for (int64_t n : kSizes) {
        SgdOptions opt;
        opt.lr = 0.05f, opt.momentum = o.momentum, opt.dampening = o.dampening;
        opt.weight_decay = o.weight_decay, opt.nesterov = o.nesterov, opt.maximize = o.maximize;
        const bool momentum = o.momentum != 0.0f;
        if (momentum && n == 0) continue;  // an empty buffer is nullptr: both versions refuse it
        const auto p0 = with_specials(n, 7), g = with_specials(n, 8);
        // On the first step the buffer must not be read: it starts as NaN.
        const auto buf0 = first ? test::nan_filled(n) : with_specials(n, 9);
        auto p1 = p0, buf1 = buf0;
        cpu::sgd_step_version(1, cpu_context(), n, p1.data(), g.data(),
                              momentum ? buf1.data() : nullptr, opt, first);
        for (int threads : kThreads) {
          const std::string what =
              "momentum=" + std::to_string(o.momentum) +
              " dampening=" + std::to_string(o.dampening) +
              " wd=" + std::to_string(o.weight_decay) + " nesterov=" + std::to_string(o.nesterov) +
              " maximize=" + std::to_string(o.maximize) + " first=" + std::to_string(first) +
              " n=" + std::to_string(n) + " threads=" + std::to_string(threads);
          auto p = p0, buf = buf0;
          cpu::sgd_step_version(2, cpu_context(threads), n, p.data(), g.data(),
                                momentum ? buf.data() : nullptr, opt, first);
          EXPECT_TRUE(test::same_values(p, p1, "params " + what));
          EXPECT_TRUE(test::same_values(buf, buf1, "buffer " + what));
        }
      }
}

// v1 and v2 round every operation on its own (-ffp-contract=off): one element
// worked in float one rounding at a time. The values were searched so that
// fusing any of the three multiply-adds changes g, buf and p (checked below).
TEST(CpuElementwiseVersions, SgdRoundsEachOperationSeparately) {
  SgdOptions opt;
  opt.lr = 0.1f, opt.momentum = 0.9f, opt.weight_decay = 0.3f;
  const float p = -0x1.94d2a8p-2f, buf = 0x1.ff047cp-1f, g = -0x1.69b8d4p-1f;
  const float fused_g = std::fma(opt.weight_decay, p, g);
  const float fused_buf = std::fma(opt.momentum, buf, fused_g);
  const float fused_p = std::fma(-opt.lr, fused_buf, p);
  volatile float wd_term = opt.weight_decay * p;  // volatile: keep this test's own roundings apart
  volatile float gd = g + wd_term;
  volatile float m_term = opt.momentum * buf, keep_term = 1.0f * gd;
  volatile float b = m_term + keep_term;
  volatile float step = opt.lr * b;
  const float expected_p = p - step, expected_buf = b;
  ASSERT_NE(fused_g, gd);  // else this test could not tell fused from unfused
  ASSERT_NE(fused_buf, expected_buf);
  ASSERT_NE(fused_p, expected_p);
  for (int threads : kThreads) {
    std::vector<float> pv(9, p), bv(9, buf), gv(9, g);  // 8 vector lanes + 1 scalar tail
    cpu::sgd_step_version(2, cpu_context(threads), 9, pv.data(), gv.data(), bv.data(), opt, false);
    EXPECT_TRUE(same_bits(pv, std::vector<float>(9, expected_p), "v2 params"));
    EXPECT_TRUE(same_bits(bv, std::vector<float>(9, expected_buf), "v2 buffer"));
    std::vector<float> p1(3, p), b1(3, buf), g1(3, g);
    cpu::sgd_step_version(1, cpu_context(), 3, p1.data(), g1.data(), b1.data(), opt, false);
    EXPECT_TRUE(same_bits(p1, std::vector<float>(3, expected_p), "v1 params"));
    EXPECT_TRUE(same_bits(b1, std::vector<float>(3, expected_buf), "v1 buffer"));
  }
}

// The numbers of kernels/cpu/versions.h: the public ops run v2 (v1 for the loss), and a
// number out of range throws instead of running something.
TEST(CpuElementwiseVersions, DefaultsAndUnknownVersions) {
  EXPECT_EQ(cpu::relu_versions(), 2);
  EXPECT_EQ(cpu::relu_default_version(), 2);
  EXPECT_EQ(cpu::bias_versions(), 2);
  EXPECT_EQ(cpu::bias_default_version(), 2);
  EXPECT_EQ(cpu::maxpool2d_versions(), 2);
  EXPECT_EQ(cpu::maxpool2d_default_version(), 2);
  EXPECT_EQ(cpu::sgd_versions(), 2);
  EXPECT_EQ(cpu::sgd_default_version(), 2);
  EXPECT_EQ(cpu::cross_entropy_versions(), 1);
  EXPECT_EQ(cpu::cross_entropy_default_version(), 1);
  std::vector<float> x(4, 1.0f), y(4);
  MaxPool2dShape pool;
  pool.N = 1, pool.C = 1, pool.H = 2, pool.W = 2;
  std::vector<int32_t> argmax(1), target = {0};
  SgdOptions sgd;
  float loss = 0;
  int32_t bad_row = 0;
  const Context ctx = cpu_context();
  for (int v : {0, 3}) {
    EXPECT_THROW(cpu::relu_forward_version(v, ctx, 4, x.data(), y.data()), Error);
    EXPECT_THROW(cpu::relu_backward_version(v, ctx, 4, x.data(), x.data(), y.data()), Error);
    EXPECT_THROW(cpu::bias_add_version(v, ctx, 1, 4, 1, x.data(), y.data()), Error);
    EXPECT_THROW(cpu::bias_grad_version(v, ctx, 1, 4, 1, x.data(), y.data()), Error);
    EXPECT_THROW(cpu::maxpool2d_forward_version(v, ctx, pool, x.data(), y.data(), argmax.data()),
                 Error);
    EXPECT_THROW(cpu::maxpool2d_backward_version(v, ctx, pool, x.data(), argmax.data(), y.data()),
                 Error);
    EXPECT_THROW(cpu::sgd_step_version(v, ctx, 4, y.data(), x.data(), nullptr, sgd, true), Error);
  }
  EXPECT_THROW(cpu::cross_entropy_version(2, ctx, 1, 4, x.data(), target.data(), {}, &loss, nullptr,
                                          &bad_row),
               Error);
}

}  // namespace
}  // namespace cudp
