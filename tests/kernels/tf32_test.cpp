// The tf32 math mode on the CPU: round_tf32 (cvt.rna.tf32.f32's rounding) and the CPU
// twins that the tensor-core kernels are tested against (kernels/cpu/tf32.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/versions.h"
#include "kernels/gemm.h"
#include "kernels/tf32.h"

namespace cudp {
namespace {

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

TEST(Tf32, RoundsToNearestWithTiesAwayFromZero) {
  // 1 + 2^-11 is exactly half way between 1 and 1 + 2^-10: away from zero, up.
  EXPECT_EQ(round_tf32(1.0f + 0x1p-11f), 1.0f + 0x1p-10f);
  EXPECT_EQ(round_tf32(-(1.0f + 0x1p-11f)), -(1.0f + 0x1p-10f));
  // Just below half way rounds down; just above rounds up.
  EXPECT_EQ(round_tf32(from_bits(bits(1.0f + 0x1p-11f) - 1)), 1.0f);
  EXPECT_EQ(round_tf32(from_bits(bits(1.0f + 0x1p-11f) + 1)), 1.0f + 0x1p-10f);
  // A carry through the mantissa into the exponent.
  EXPECT_EQ(round_tf32(from_bits(0x3fffffffu)), 2.0f);
  // Values already in TF32 are unchanged, and the result always is TF32.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1e6f, 1e6f);
  for (int i = 0; i < 10000; ++i) {
    const float v = u(rng), r = round_tf32(v);
    EXPECT_EQ(bits(r) & 0x1fffu, 0u);
    EXPECT_EQ(round_tf32(r), r);
    EXPECT_LE(std::fabs(r - v), std::ldexp(std::fabs(v), -11));
  }
}

TEST(Tf32, InfinitiesAndNanPassAndTheLargestFiniteOverflows) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(round_tf32(inf), inf);
  EXPECT_EQ(round_tf32(-inf), -inf);
  EXPECT_TRUE(std::isnan(round_tf32(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(round_tf32(std::numeric_limits<float>::max()), inf);  // rounds past 2^128
  EXPECT_EQ(round_tf32(0.0f), 0.0f);
  EXPECT_EQ(bits(round_tf32(-0.0f)), bits(-0.0f));
}

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = u(rng);
  return v;
}

std::vector<float> rounded(std::vector<float> v) {
  for (float& x : v) x = round_tf32(x);
  return v;
}

// The twin is the FP32 kernel on rounded operands, bit for bit, and the public op runs it
// when ctx.math is tf32; on unrounded operands it differs from FP32.
TEST(Tf32, GemmTwinIsFp32OnRoundedOperands) {
  const int64_t M = 37, N = 29, K = 53;
  for (GemmLayout layout : {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN}) {
    const auto A = random_values(M * K, 1), B = random_values(K * N, 2);
    std::vector<float> want(M * N), got(M * N), via_op(M * N), fp32(M * N);
    Context ctx = cpu_context();
    cpu::gemm(ctx, layout, M, N, K, 1.0f, rounded(A).data(), rounded(B).data(), 0.0f,
              want.data());
    cpu::gemm(ctx, layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, fp32.data());
    cpu::gemm_tf32_version(1, ctx, layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, got.data());
    ctx.math = Math::tf32;
    gemm(ctx, layout, M, N, K, 1.0f, A.data(), B.data(), 0.0f, via_op.data());
    EXPECT_EQ(got, want) << gemm_layout_name(layout);
    EXPECT_EQ(via_op, want) << gemm_layout_name(layout);
    EXPECT_NE(fp32, want) << gemm_layout_name(layout) << ": tf32 changed nothing";
  }
}

TEST(Tf32, ConvTwinsAreFp32OnRoundedOperands) {
  Conv2dShape s;
  s.N = 2, s.C = 3, s.H = 9, s.W = 7, s.K = 5, s.R = 3, s.S = 3, s.stride = 2, s.padding = 1;
  const auto x = random_values(s.x_size(), 3), w = random_values(s.w_size(), 4),
             dy = random_values(s.y_size(), 5);
  Context ctx = cpu_context();
  Context tf = ctx;
  tf.math = Math::tf32;
  std::vector<float> want(s.y_size()), got(s.y_size());
  cpu::conv2d_forward(ctx, s, rounded(x).data(), rounded(w).data(), want.data());
  conv2d_forward(tf, s, x.data(), w.data(), got.data());
  EXPECT_EQ(got, want);
  std::vector<float> want_dx(s.x_size()), got_dx(s.x_size());
  cpu::conv2d_backward_data(ctx, s, rounded(dy).data(), rounded(w).data(), want_dx.data());
  conv2d_backward_data(tf, s, dy.data(), w.data(), got_dx.data());
  EXPECT_EQ(got_dx, want_dx);
  std::vector<float> want_dw(s.w_size()), got_dw(s.w_size());
  cpu::conv2d_backward_weight(ctx, s, rounded(x).data(), rounded(dy).data(), want_dw.data());
  conv2d_backward_weight(tf, s, x.data(), dy.data(), got_dw.data());
  EXPECT_EQ(got_dw, want_dw);
}

TEST(Tf32, UnknownVersionsAndMathNamesAreRefused) {
  std::vector<float> c(4);
  EXPECT_THROW(cpu::gemm_tf32_version(2, cpu_context(), GemmLayout::NN, 2, 2, 2, 1.0f, c.data(),
                                      c.data(), 0.0f, c.data()),
               Error);
  EXPECT_EQ(parse_math("tf32", "here"), Math::tf32);
  EXPECT_EQ(parse_math("fp32", "here"), Math::fp32);
  try {
    parse_math("fp16", "math mode");
    FAIL() << "fp16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected fp32 or tf32, found 'fp16'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cudp
