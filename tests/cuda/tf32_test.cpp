// The tf32 tensor-core kernels (kernels/cuda/gemm_tf32.cu, conv2d_tf32.cu) against their
// CPU twins (kernels/cpu/tf32.cpp): exact on small integers (TF32 holds them, and every
// product and sum is exact), within kernels/tf32.h's derived bound on random floats, the
// rounding itself bit for bit (K = 1), run-to-run identical, on shapes that cross every
// tile edge, misaligned pointers and the seed model's layers.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/versions.h"
#include "kernels/cuda/versions.h"
#include "kernels/gemm.h"
#include "kernels/tf32.h"
#include "tests/common/poison.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

const GemmLayout kLayouts[] = {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN};

std::vector<float> abs_rounded(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::fabs(round_tf32(v[i]));
  return out;
}

std::vector<float> abs_of(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = std::fabs(v[i]);
  return out;
}

// Every element within tf32_sum_bound(depth, abs_sum[i]) of the twin (exact: equal).
::testing::AssertionResult within_bound(const std::vector<float>& got,
                                        const std::vector<float>& want,
                                        const std::vector<float>& abs_sum, int64_t depth,
                                        bool exact, const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " elements, expected "
                                         << want.size();
  for (size_t i = 0; i < got.size(); ++i) {
    const double bound = exact ? 0.0 : tf32_sum_bound(depth, abs_sum[i]);
    if (!(std::fabs(double(got[i]) - double(want[i])) <= bound))
      return ::testing::AssertionFailure()
             << what << ": element " << i << " is " << got[i] << ", the twin " << want[i]
             << ", bound " << bound;
  }
  return ::testing::AssertionSuccess();
}

class CudaTf32 : public test::CudaTest {
 protected:
  void check_gemm(GemmLayout layout, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                  bool exact, std::size_t offset = 0) {
    const uint64_t seed = static_cast<uint64_t>(M * 7919 + N * 104729 + K);
    const auto A = exact ? test::random_small_ints(M * K, seed) : test::random_floats(M * K, seed);
    const auto B =
        exact ? test::random_small_ints(K * N, seed + 1) : test::random_floats(K * N, seed + 1);
    const auto C0 = beta == 0.0f ? test::nan_filled(M * N)
                    : exact      ? test::random_small_ints(M * N, seed + 2)
                                 : test::random_floats(M * N, seed + 2);
    std::vector<float> want = C0;
    cpu::gemm_tf32_version(1, cpu, layout, M, N, K, alpha, A.data(), B.data(), beta, want.data());
    std::vector<float> abs_sum = beta == 0.0f ? std::vector<float>(M * N, 0.0f) : abs_of(C0);
    cpu::gemm(cpu, layout, M, N, K, std::fabs(alpha), abs_rounded(A).data(),
              abs_rounded(B).data(), std::fabs(beta), abs_sum.data());
    const auto dA = upload(A, offset), dB = upload(B, offset);
    for (int v = 1; v <= cuda::gemm_tf32_versions(); ++v) {
      const std::string what = "gemm tf32 v" + std::to_string(v) + " " +
                               gemm_layout_name(layout) + " " + std::to_string(M) + "x" +
                               std::to_string(N) + "x" + std::to_string(K);
      auto dC = upload_output(C0, offset);
      cuda::gemm_tf32_version(v, gpu, layout, M, N, K, alpha, dA.data() + offset,
                              dB.data() + offset, beta, dC.data() + offset);
      ASSERT_TRUE(within_bound(download(dC, offset), want, abs_sum, K, exact, what));
    }
  }
};

TEST_F(CudaTf32, GemmRoundsEachOperandAsCvtRna) {
  // K = 1, B = 1: C is round_tf32(A) exactly, for ties, near-ties and random bits.
  std::vector<float> A;
  for (uint32_t mant : {0x1000u, 0x0fffu, 0x1001u, 0x3000u, 0x1fffu, 0x0000u, 0x7fffffu})
    for (uint32_t exp : {1u, 100u, 127u, 200u}) {
      const uint32_t u = (exp << 23) | mant;
      float f;
      std::memcpy(&f, &u, sizeof f);
      A.push_back(f);
      A.push_back(-f);
    }
  const auto more = test::random_floats(200, 11, -1e4f, 1e4f);
  A.insert(A.end(), more.begin(), more.end());
  const int64_t M = static_cast<int64_t>(A.size());
  const std::vector<float> B(3, 1.0f);
  auto dA = upload(A), dB = upload(B);
  for (int v = 1; v <= cuda::gemm_tf32_versions(); ++v) {
    auto dC = poisoned<float>(static_cast<size_t>(M) * 3);
    cuda::gemm_tf32_version(v, gpu, GemmLayout::NN, M, 3, 1, 1.0f, dA.data(), dB.data(), 0.0f,
                            dC.data());
    const auto got = download(dC);
    for (int64_t i = 0; i < M; ++i)
      for (int j = 0; j < 3; ++j)
        ASSERT_EQ(got[i * 3 + j], round_tf32(A[i])) << "v" << v << " A = " << A[i];
  }
}

TEST_F(CudaTf32, GemmExactOnSmallIntegersAcrossTileEdges) {
  for (GemmLayout layout : kLayouts)
    for (int64_t M : {1, 15, 16, 17, 127, 129})
      for (int64_t N : {1, 7, 8, 9, 128, 131})
        for (int64_t K : {1, 3, 8, 16, 17, 33}) check_gemm(layout, M, N, K, 1.0f, 0.0f, true);
}

// A few shapes across the tile edges, every layout: small enough for racecheck and
// synccheck (tools/gpu_check.sh), which run some 40x slower.
TEST_F(CudaTf32, FewEdgeShapesEveryLayout) {
  for (GemmLayout layout : kLayouts) {
    check_gemm(layout, 129, 131, 33, 1.0f, 0.0f, true);
    check_gemm(layout, 17, 9, 70, 2.0f, -1.0f, false, 1);
  }
}

// Exact where the review found gaps: 16-byte copies and ldmatrix through reused stages
// (K = 72 is 5 k-tiles on 3 stages), split-K (the seed model's fc1 at batch 32: sums of
// |x| <= 9 products stay below 2^16, exact on tensor cores), and the float2 epilogue with
// beta != 0 (N even, C aligned, no split).
TEST_F(CudaTf32, ExactThroughReusedStagesSplitKAndTheVectorEpilogue) {
  for (GemmLayout layout : kLayouts) check_gemm(layout, 129, 132, 72, 1.0f, 0.0f, true);
  check_gemm(GemmLayout::NT, 32, 512, 4096, 1.0f, 0.0f, true);
  check_gemm(GemmLayout::NN, 64, 66, 40, 1.0f, 0.5f, true);
}

TEST_F(CudaTf32, GemmWithinTheDerivedBoundOnRandomFloats) {
  for (GemmLayout layout : kLayouts) {
    check_gemm(layout, 256, 384, 200, 1.0f, 0.0f, false);
    check_gemm(layout, 129, 257, 300, 0.7f, 0.3f, false);
    check_gemm(layout, 132, 68, 36, 2.0f, 1.0f, false, 1);  // misaligned: 4-byte copies
    check_gemm(layout, 7, 9, 0, 1.0f, 0.5f, false);         // K = 0: C = beta * C
  }
  // The seed model's Linear layers at batch 32 (split-K), and a deep, thin split.
  check_gemm(GemmLayout::NT, 32, 512, 4096, 1.0f, 0.0f, false);
  check_gemm(GemmLayout::NN, 32, 4096, 512, 1.0f, 0.0f, false);
  check_gemm(GemmLayout::TN, 512, 4096, 32, 1.0f, 0.0f, false);
  check_gemm(GemmLayout::NT, 3, 5, 2001, 0.5f, 2.0f, false);
}

TEST_F(CudaTf32, GemmIsDeterministicRunToRun) {
  const int64_t M = 200, N = 300, K = 1000;
  const auto A = test::random_floats(M * K, 5), B = test::random_floats(N * K, 6);
  auto dA = upload(A), dB = upload(B);
  auto c1 = poisoned<float>(M * N), c2 = poisoned<float>(M * N);
  cuda::gemm_tf32_version(1, gpu, GemmLayout::NT, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f,
                          c1.data());
  cuda::gemm_tf32_version(1, gpu, GemmLayout::NT, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f,
                          c2.data());
  EXPECT_EQ(download(c1), download(c2));
}

TEST_F(CudaTf32, PublicOpsRunTf32WhenTheContextSaysSo) {
  const int64_t M = 64, N = 64, K = 64;
  const auto A = test::random_floats(M * K, 8), B = test::random_floats(K * N, 9);
  auto dA = upload(A), dB = upload(B);
  auto direct = poisoned<float>(M * N), via = poisoned<float>(M * N);
  cuda::gemm_tf32_version(cuda::gemm_tf32_default_version(), gpu, GemmLayout::NN, M, N, K, 1.0f,
                          dA.data(), dB.data(), 0.0f, direct.data());
  Context tf = gpu;
  tf.math = Math::tf32;
  gemm(tf, GemmLayout::NN, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f, via.data());
  EXPECT_EQ(download(direct), download(via));
}

class CudaConvTf32 : public test::CudaTest {
 protected:
  void check(const Conv2dShape& s, bool exact) {
    const uint64_t seed = static_cast<uint64_t>(s.N * 31 + s.C * 17 + s.H * 7 + s.K);
    const auto x = exact ? test::random_small_ints(s.x_size(), seed)
                         : test::random_floats(s.x_size(), seed);
    const auto w = exact ? test::random_small_ints(s.w_size(), seed + 1)
                         : test::random_floats(s.w_size(), seed + 1);
    const auto dy = exact ? test::random_small_ints(s.y_size(), seed + 2)
                          : test::random_floats(s.y_size(), seed + 2);
    const auto ax = abs_rounded(x), aw = abs_rounded(w), ady = abs_rounded(dy);
    const std::string shape = "N" + std::to_string(s.N) + " C" + std::to_string(s.C) + " " +
                              std::to_string(s.H) + "x" + std::to_string(s.W) + " K" +
                              std::to_string(s.K) + " " + std::to_string(s.R) + "x" +
                              std::to_string(s.S) + " stride " + std::to_string(s.stride) +
                              " pad " + std::to_string(s.padding);
    const auto dx_dev = upload(x), dw_dev = upload(w), ddy_dev = upload(dy);
    for (int v = 1; v <= cuda::conv2d_tf32_versions(); ++v) {
      const std::string tag = " tf32 v" + std::to_string(v) + " " + shape;
      {
        std::vector<float> want(s.y_size()), bound(s.y_size());
        cpu::conv2d_forward_tf32_version(1, cpu, s, x.data(), w.data(), want.data());
        cpu::conv2d_forward(cpu, s, ax.data(), aw.data(), bound.data());
        auto y = poisoned<float>(s.y_size());
        cuda::conv2d_forward_tf32_version(v, gpu, s, dx_dev.data(), dw_dev.data(), y.data());
        ASSERT_TRUE(within_bound(download(y), want, bound, s.C * s.R * s.S, exact,
                                 "forward" + tag));
      }
      {
        std::vector<float> want(s.x_size()), bound(s.x_size());
        cpu::conv2d_backward_data_tf32_version(1, cpu, s, dy.data(), w.data(), want.data());
        cpu::conv2d_backward_data(cpu, s, ady.data(), aw.data(), bound.data());
        auto dx = poisoned<float>(s.x_size());
        cuda::conv2d_backward_data_tf32_version(v, gpu, s, ddy_dev.data(), dw_dev.data(),
                                                dx.data());
        ASSERT_TRUE(within_bound(download(dx), want, bound, s.K * s.R * s.S, exact,
                                 "backward-data" + tag));
      }
      {
        std::vector<float> want(s.w_size()), bound(s.w_size());
        cpu::conv2d_backward_weight_tf32_version(1, cpu, s, x.data(), dy.data(), want.data());
        cpu::conv2d_backward_weight(cpu, s, ax.data(), ady.data(), bound.data());
        auto dw = poisoned<float>(s.w_size());
        cuda::conv2d_backward_weight_tf32_version(v, gpu, s, dx_dev.data(), ddy_dev.data(),
                                                  dw.data());
        ASSERT_TRUE(within_bound(download(dw), want, bound, s.N * s.P() * s.Q(), exact,
                                 "backward-weight" + tag));
      }
    }
  }
};

Conv2dShape conv_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                       int64_t stride, int64_t padding) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.R = R, s.S = R;
  s.stride = stride, s.padding = padding;
  return s;
}

TEST_F(CudaConvTf32, ExactOnSmallIntegersOddShapes) {
  check(conv_shape(1, 1, 1, 1, 1, 1, 1, 0), true);
  check(conv_shape(2, 3, 9, 7, 5, 3, 1, 1), true);
  check(conv_shape(3, 5, 11, 13, 65, 3, 2, 1), true);  // stride 2: backward-data divides
  check(conv_shape(2, 7, 8, 8, 3, 5, 3, 2), true);
  check(conv_shape(2, 3, 12, 12, 5, 3, 1, 1), true);  // forward: N*P*Q = 288 > one tile
}

TEST_F(CudaConvTf32, WithinTheDerivedBoundOnRandomFloats) {
  check(conv_shape(4, 16, 17, 19, 33, 3, 1, 1), false);
  check(conv_shape(32, 1, 28, 28, 32, 3, 1, 1), false);   // seed model conv1, batch 32
  check(conv_shape(32, 32, 14, 14, 64, 3, 1, 1), false);  // seed model conv2
  check(conv_shape(8, 64, 32, 32, 64, 3, 1, 1), false);   // the benchmark's shape, smaller N
}

}  // namespace
}  // namespace cudp
