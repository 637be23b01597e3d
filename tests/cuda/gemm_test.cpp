// CUDA GEMM, every version, against the CPU twin (kernels/gemm.h, kernels/cuda/gemm.cu).
//
// Small-integer operands (|x| <= 3, sums far below 2^24) make every product and partial sum
// exact in float32, so any summation order gives the same result: those cases assert exact
// equality. Sizes cross every tile edge of every version (1, 7, 33, 65, 130 are multiples of
// no tile; 4, 132 multiples of 4 switch v4 to its float4 loads and stores), and a pointer
// shifted by one float forces v4's scalar fallback. Random-float cases use all_close with
// rtol = 1e-4 and atol = 1e-5 + 1e-6 * K: K float products of magnitude <= 1 summed in two
// different orders differ by up to about K * 2^-24 * (partial-sum size).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cuda/versions.h"
#include "kernels/gemm.h"
#include "runtime/error.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"
#include "tests/cuda/cuda_test.h"

namespace cudp {
namespace {

using test::all_close;
using test::all_identical;

const GemmLayout kLayouts[] = {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN};

std::string describe(int version, GemmLayout layout, int64_t M, int64_t N, int64_t K) {
  return "v" + std::to_string(version) + " " + gemm_layout_name(layout) +
         " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K);
}

class CudaGemm : public test::CudaTest {
 protected:
  // Runs every version on one case and compares with the CPU twin. `offset` shifts A, B and
  // C by that many floats on the device (offset 1 breaks 16-byte alignment).
  void check_all_versions(GemmLayout layout, int64_t M, int64_t N, int64_t K, float alpha,
                          float beta, bool exact, std::size_t offset = 0) {
    const uint64_t seed = static_cast<uint64_t>(M * 1000003 + N * 1009 + K);
    const auto A = exact ? test::random_small_ints(M * K, seed) : test::random_floats(M * K, seed);
    const auto B =
        exact ? test::random_small_ints(K * N, seed + 1) : test::random_floats(K * N, seed + 1);
    // beta == 0: C starts as NaN on both sides and must not leak.
    const auto C0 = beta == 0.0f ? test::nan_filled(M * N)
                                 : (exact ? test::random_small_ints(M * N, seed + 2)
                                          : test::random_floats(M * N, seed + 2));
    std::vector<float> expected = C0;
    cpu::gemm(cpu, layout, M, N, K, alpha, A.data(), B.data(), beta, expected.data());

    const auto dA = upload(A, offset);
    const auto dB = upload(B, offset);
    for (int v = 1; v <= cuda::gemm_versions(); ++v) {
      const std::string what = describe(v, layout, M, N, K);
      SCOPED_TRACE(what);
      auto dC = upload_output(C0, offset);
      cuda::gemm_version(v, gpu, layout, M, N, K, alpha, dA.data() + offset, dB.data() + offset,
                         beta, dC.data() + offset);
      const auto actual = download(dC, offset);
      if (exact)
        ASSERT_TRUE(all_close(actual, expected, 0.0, 0.0, what));
      else
        ASSERT_TRUE(all_close(actual, expected, 1e-6 * static_cast<double>(K) + 1e-5, 1e-4, what));
    }
  }
};

TEST_F(CudaGemm, ExactOnEdgeSizesEveryLayoutAndVersion) {
  const int64_t sizes[] = {1, 4, 7, 33, 65, 130, 132};
  for (GemmLayout layout : kLayouts)
    for (int64_t M : sizes)
      for (int64_t N : sizes)
        for (int64_t K : sizes) check_all_versions(layout, M, N, K, 1.0f, 0.0f, true);
}

// A few shapes across every tile edge, and one that splits K: the shapes that
// tools/gpu_check.sh runs under racecheck, which is about 40x slower than a plain run.
TEST_F(CudaGemm, FewEdgeShapesEveryLayoutAndVersion) {
  const int64_t shapes[][3] = {{1, 1, 1}, {33, 65, 7}, {130, 132, 65}, {65, 4, 130}, {3, 5, 2001}};
  for (GemmLayout layout : kLayouts)
    for (const auto& s : shapes) check_all_versions(layout, s[0], s[1], s[2], 1.0f, 0.0f, true);
}

// v6's tiles are 128 x 256 x 8: M one under, at and over 128 and 256, N at 255, 256, 257
// (with N % 4 != 0 the 16-byte copies of B and float4 stores of C fall back), K not a
// multiple of 8; then offset 1 (misaligned A, B and C) and M, N multiples of 4 (16-byte copies
// of the x-contiguous operands), alpha and beta on the partial edge tiles.
TEST_F(CudaGemm, V6TileEdgesEveryLayoutAndVersion) {
  const int64_t shapes[][3] = {{129, 257, 9}, {255, 255, 17}, {257, 256, 7}, {128, 512, 23}};
  for (GemmLayout layout : kLayouts)
    for (const auto& s : shapes) check_all_versions(layout, s[0], s[1], s[2], 1.0f, 0.0f, true);
  for (GemmLayout layout : kLayouts) {
    check_all_versions(layout, 257, 260, 41, 1.0f, 0.0f, true, 1);
    check_all_versions(layout, 260, 516, 44, 1.0f, 0.0f, true);
    check_all_versions(layout, 131, 257, 33, -2.0f, 0.5f, true);
  }
}

TEST_F(CudaGemm, AlphaBetaExact) {
  for (GemmLayout layout : kLayouts) {
    check_all_versions(layout, 33, 65, 7, 2.0f, -1.0f, true);
    check_all_versions(layout, 132, 68, 20, -1.0f, 3.0f, true);
    check_all_versions(layout, 1, 130, 65, 0.5f, 0.25f, true);
  }
}

TEST_F(CudaGemm, MisalignedPointersFallBackToScalarLoads) {
  for (GemmLayout layout : kLayouts) {
    check_all_versions(layout, 132, 132, 132, 1.0f, 0.0f, true, 1);
    check_all_versions(layout, 64, 68, 36, 2.0f, 1.0f, true, 1);
  }
}

// The seed model's Linear GEMMs (fc1: 4096 -> 512 at batch 32): few output tiles and a deep
// K, where v5 splits K; still exact on small integers (4096 * 9 < 2^24).
TEST_F(CudaGemm, SeedModelLinearShapesAndSplitK) {
  check_all_versions(GemmLayout::NT, 32, 512, 4096, 1.0f, 0.0f, true);
  check_all_versions(GemmLayout::NN, 32, 4096, 512, 1.0f, 0.0f, true);
  check_all_versions(GemmLayout::TN, 512, 4096, 32, 1.0f, 0.0f, true);
  check_all_versions(GemmLayout::NT, 32, 10, 512, 1.0f, 0.0f, true);
  check_all_versions(GemmLayout::NT, 3, 5, 2001, 0.5f, 2.0f, true);  // split, alpha and beta
  check_all_versions(GemmLayout::TN, 7, 9, 3000, 1.0f, 0.0f, false);
}

TEST_F(CudaGemm, RandomFloatsWithinTolerance) {
  for (GemmLayout layout : kLayouts) {
    check_all_versions(layout, 256, 384, 200, 1.0f, 0.0f, false);
    check_all_versions(layout, 129, 257, 300, 0.7f, 0.3f, false);
  }
}

TEST_F(CudaGemm, KZeroScalesC) {
  for (GemmLayout layout : kLayouts) {
    check_all_versions(layout, 7, 9, 0, 1.0f, 0.0f, true);  // C = 0, NaN in C ignored
    check_all_versions(layout, 7, 9, 0, 1.0f, 0.5f, true);  // C = 0.5 * C
  }
}

TEST_F(CudaGemm, EmptyOutputLeavesCUntouched) {
  const std::vector<float> sentinel(12, 42.0f);
  for (int v = 1; v <= cuda::gemm_versions(); ++v) {
    auto dC = upload_output(sentinel);
    cuda::gemm_version(v, gpu, GemmLayout::NN, 0, 12, 5, 1.0f, nullptr, nullptr, 0.0f, dC.data());
    cuda::gemm_version(v, gpu, GemmLayout::NN, 12, 0, 5, 1.0f, nullptr, nullptr, 0.0f, dC.data());
    EXPECT_TRUE(all_identical(download(dC), sentinel, "v" + std::to_string(v)));
  }
}

TEST_F(CudaGemm, DeterministicRunToRun) {
  const int64_t M = 300, N = 260, K = 520;
  const auto A = test::random_floats(M * K, 11), B = test::random_floats(K * N, 12);
  const auto dA = upload(A), dB = upload(B);
  for (int v = 1; v <= cuda::gemm_versions(); ++v) {
    auto c1 = poisoned<float>(M * N), c2 = poisoned<float>(M * N);
    cuda::gemm_version(v, gpu, GemmLayout::NT, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f,
                       c1.data());
    cuda::gemm_version(v, gpu, GemmLayout::NT, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f,
                       c2.data());
    EXPECT_TRUE(all_identical(download(c1), download(c2), "v" + std::to_string(v)));
  }
}

TEST_F(CudaGemm, PublicOpRunsTheDefaultVersion) {
  const int64_t M = 65, N = 33, K = 130;
  const auto A = test::random_small_ints(M * K, 5), B = test::random_small_ints(K * N, 6);
  std::vector<float> expected(M * N);
  cpu::gemm(cpu, GemmLayout::TN, M, N, K, 1.0f, A.data(), B.data(), 0.0f, expected.data());
  const auto dA = upload(A), dB = upload(B);
  auto dC = poisoned<float>(M * N);
  gemm(gpu, GemmLayout::TN, M, N, K, 1.0f, dA.data(), dB.data(), 0.0f, dC.data());
  EXPECT_TRUE(all_close(download(dC), expected, 0.0, 0.0, "public gemm"));
  // v6 becomes the default only after a committed GPU report shows it passing and faster.
  EXPECT_EQ(cuda::gemm_default_version(), 5);
}

TEST_F(CudaGemm, UnknownVersionThrows) {
  EXPECT_THROW(
      cuda::gemm_version(0, gpu, GemmLayout::NN, 1, 1, 1, 1.0f, nullptr, nullptr, 0.0f, nullptr),
      Error);
  EXPECT_THROW(cuda::gemm_version(cuda::gemm_versions() + 1, gpu, GemmLayout::NN, 1, 1, 1, 1.0f,
                                  nullptr, nullptr, 0.0f, nullptr),
               Error);
}

}  // namespace
}  // namespace cudp
