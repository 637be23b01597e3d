// conv2d v2 and v3 (packed GEMM on AVX2 / AVX-512, threads; kernels/cpu/versions.h)
// against the plain v1 twin: odd shapes, strides, paddings, 1x1 and non-square filters,
// NaN-poisoned outputs; bitwise identical for 1, 2, 3 threads and run to run.
//
// Tolerance against v1: each output is a sum of T products (T = C*R*S forward,
// K*R*S backward-data, N*P*Q backward-weight) that v1 and v2 round in different
// orders; each is within (T + 2) u sum|terms| of the exact sum (u = 2^-24), and
// the check allows the sum of both bounds per element. Small integers: bitwise.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/versions.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/kernels/conv2d_terms.h"
#include "tests/kernels/versions_check.h"

namespace cudp {
namespace {

using test::same_bits;

Conv2dShape conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                 int64_t stride, int64_t padding) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.R = R, s.S = S, s.stride = stride,
  s.padding = padding;
  return s;
}

std::string describe(int version, const Conv2dShape& s, const std::string& more = "") {
  return "v" + std::to_string(version) + " N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) +
         " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) + " K=" + std::to_string(s.K) +
         " R=" + std::to_string(s.R) + " S=" + std::to_string(s.S) +
         " stride=" + std::to_string(s.stride) + " padding=" + std::to_string(s.padding) + more;
}

// Odd sizes, 1x1 (no im2col), 5x5 stride 2, a 3x2 filter, padding wider than the
// filter reaches (whole col rows of zeros), and the seed-pool convolutions.
const Conv2dShape kShapes[] = {
    conv(2, 3, 9, 7, 5, 3, 3, 1, 1),     conv(3, 4, 8, 8, 6, 1, 1, 1, 0),
    conv(2, 5, 11, 13, 7, 5, 5, 2, 2),   conv(2, 2, 5, 6, 3, 3, 2, 1, 0),
    conv(1, 3, 4, 5, 2, 3, 3, 3, 4),     conv(3, 7, 1, 9, 9, 1, 3, 1, 1),
    conv(5, 3, 32, 32, 64, 3, 3, 1, 1),  conv(5, 64, 16, 16, 64, 3, 3, 1, 1),
    conv(3, 13, 10, 10, 33, 3, 3, 2, 1),
};

enum class Pass { Forward, BackwardData, BackwardWeight };
const char* pass_name(Pass p) {
  return p == Pass::Forward        ? " forward"
         : p == Pass::BackwardData ? " backward_data"
                                   : " backward_weight";
}

struct Inputs {
  std::vector<float> x, w, dy;
};

Inputs make_inputs(const Conv2dShape& s, uint64_t seed, bool small_ints) {
  auto make = [&](int64_t n, uint64_t k) {
    return small_ints ? test::random_small_ints(n, seed + k) : test::random_floats(n, seed + k);
  };
  return {make(s.x_size(), 1), make(s.w_size(), 2), make(s.y_size(), 3)};
}

// Runs one pass of a version into a NaN-poisoned output.
std::vector<float> run(Pass pass, int version, int threads, const Conv2dShape& s,
                       const Inputs& in) {
  const Context ctx = cpu_context(threads);
  if (pass == Pass::Forward) {
    auto y = test::nan_filled(s.y_size());
    cpu::conv2d_forward_version(version, ctx, s, in.x.data(), in.w.data(), y.data());
    return y;
  }
  if (pass == Pass::BackwardData) {
    auto dx = test::nan_filled(s.x_size());
    cpu::conv2d_backward_data_version(version, ctx, s, in.dy.data(), in.w.data(), dx.data());
    return dx;
  }
  auto dw = test::nan_filled(s.w_size());
  cpu::conv2d_backward_weight_version(version, ctx, s, in.x.data(), in.dy.data(), dw.data());
  return dw;
}

// The per-element bound of the file comment, from the definition of the convolution.
std::vector<double> error_bounds(Pass pass, const Conv2dShape& s, const Inputs& in) {
  const int64_t P = s.P(), Q = s.Q();
  const int64_t size = pass == Pass::Forward        ? s.y_size()
                       : pass == Pass::BackwardData ? s.x_size()
                                                    : s.w_size();
  const int64_t terms = pass == Pass::Forward        ? s.C * s.R * s.S
                        : pass == Pass::BackwardData ? s.K * s.R * s.S
                                                     : s.N * P * Q;
  std::vector<double> sum_abs(static_cast<size_t>(size), 0.0);
  test::for_each_conv2d_term(s, [&](int64_t yi, int64_t xi, int64_t wi) {
    if (pass == Pass::Forward) sum_abs[yi] += std::fabs(double{in.w[wi]} * in.x[xi]);
    if (pass == Pass::BackwardData) sum_abs[xi] += std::fabs(double{in.w[wi]} * in.dy[yi]);
    if (pass == Pass::BackwardWeight) sum_abs[wi] += std::fabs(double{in.x[xi]} * in.dy[yi]);
  });
  const double u = std::ldexp(1.0, -24);
  for (double& b : sum_abs) b = 2.0 * (terms + 2) * u * b + 1e-30;
  return sum_abs;
}

bool any_nan(const std::vector<float>& v) {
  for (float f : v)
    if (std::isnan(f)) return true;
  return false;
}

const Pass kPasses[] = {Pass::Forward, Pass::BackwardData, Pass::BackwardWeight};

TEST(CpuConv2dVersions, V2AndV3MatchV1EveryPass) {
  uint64_t seed = 1;
  for (int v : test::packed_versions())
    for (const Conv2dShape& s : kShapes) {
      const Inputs in = make_inputs(s, seed += 10, false);
      for (Pass pass : kPasses) {
        const std::string what = describe(v, s, pass_name(pass));
        const auto fast = run(pass, v, 1, s, in);
        EXPECT_FALSE(any_nan(fast)) << what << ": an output was never written";
        EXPECT_TRUE(
            test::within_bounds(fast, run(pass, 1, 1, s, in), error_bounds(pass, s, in), what));
      }
    }
}

TEST(CpuConv2dVersions, SmallIntegersBitwiseEqualToV1) {
  uint64_t seed = 7;
  for (int v : test::packed_versions())
    for (const Conv2dShape& s : kShapes) {
      const Inputs in = make_inputs(s, seed += 10, true);
      for (Pass pass : kPasses)
        EXPECT_TRUE(same_bits(run(pass, v, 2, s, in), run(pass, 1, 1, s, in),
                              describe(v, s, pass_name(pass))));
    }
}

// Forward and backward-data split the batch (5 samples: uneven shares);
// backward-weight splits dw by columns or rows: both happen across the two ISAs'
// tile widths (27 columns of conv1 are one 32-wide AVX-512 tile: rows are split).
TEST(CpuConv2dVersions, BitwiseIdenticalForThreadCountsOneTwoThreeAndRunToRun) {
  for (int v : test::packed_versions())
    for (const Conv2dShape& s : {kShapes[6], kShapes[7], kShapes[8]}) {
      const Inputs in = make_inputs(s, 99, false);
      for (Pass pass : kPasses) {
        const auto one = run(pass, v, 1, s, in);
        for (int threads : {1, 2, 3})
          EXPECT_TRUE(same_bits(
              run(pass, v, threads, s, in), one,
              describe(v, s,
                       std::string(pass_name(pass)) + " threads=" + std::to_string(threads))));
      }
    }
}

TEST(CpuConv2dVersions, V2AndV3GiveIdenticalBits) {
  if (!cpu::conv2d_version_available(3))
    GTEST_SKIP() << "this CPU has no AVX-512F: v3 cannot run here";
  for (const Conv2dShape& s : kShapes) {
    const Inputs in = make_inputs(s, 5, false);
    for (Pass pass : kPasses)
      EXPECT_TRUE(same_bits(run(pass, 2, 2, s, in), run(pass, 3, 1, s, in),
                            describe(3, s, std::string(pass_name(pass)) + " vs v2")));
  }
}

// The default is the kernel the public ops run: v3 where AVX-512 is active, else v2.
TEST(CpuConv2dVersions, PublicOpsRunTheDefaultVersionOfTheForcedIsa) {
  const Conv2dShape s = kShapes[0];
  const Inputs in = make_inputs(s, 3, false);
  EXPECT_EQ(cpu::conv2d_default_version(), cpu::cpu_has_avx512() ? 3 : 2);
  for (cpu::CpuIsa isa : test::tested_isas()) {
    test::ScopedIsa forced(isa);
    const int v = isa == cpu::CpuIsa::Avx512 ? 3 : 2;
    EXPECT_EQ(cpu::conv2d_default_version(), v);
    const Context ctx = cpu_context(2);
    auto y = test::nan_filled(s.y_size()), dx = test::nan_filled(s.x_size());
    auto dw = test::nan_filled(s.w_size());
    cpu::conv2d_forward(ctx, s, in.x.data(), in.w.data(), y.data());
    cpu::conv2d_backward_data(ctx, s, in.dy.data(), in.w.data(), dx.data());
    cpu::conv2d_backward_weight(ctx, s, in.x.data(), in.dy.data(), dw.data());
    EXPECT_TRUE(same_bits(y, run(Pass::Forward, v, 1, s, in), describe(v, s, " forward")));
    EXPECT_TRUE(same_bits(dx, run(Pass::BackwardData, v, 1, s, in), describe(v, s, " data")));
    EXPECT_TRUE(same_bits(dw, run(Pass::BackwardWeight, v, 1, s, in), describe(v, s, " weight")));
  }
}

TEST(CpuConv2dVersions, UnknownOrUnavailableVersionsThrow) {
  EXPECT_EQ(cpu::conv2d_versions(), 3);
  const Conv2dShape s = kShapes[0];
  const Inputs in = make_inputs(s, 4, false);
  std::vector<int> bad = {0, 4};
  if (!cpu::cpu_has_avx512()) bad.push_back(3);
  for (int v : bad) {
    EXPECT_FALSE(cpu::conv2d_version_available(v)) << "v" << v;
    for (Pass pass : kPasses) EXPECT_THROW(run(pass, v, 1, s, in), Error) << "v" << v;
  }
}

}  // namespace
}  // namespace cudp
