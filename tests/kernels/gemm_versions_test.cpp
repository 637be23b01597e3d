// The packed CPU GEMM (v2 AVX2, v3 AVX-512; kernels/cpu/versions.h) against the
// plain v1 twin: random and edge shapes, every layout, alpha/beta, NaN-poisoned C,
// and the determinism claims (thread counts, run to run, AVX2 == AVX-512 bitwise).
//
// Tolerance against v1: both round a K-term dot product in a different order, so
// each is within (K + 2) u sum_k |alpha a_ik b_kj| + 2 u |beta c_ij| of the exact
// value (u = 2^-24); the check allows the sum of both bounds, per element.
// Small-integer inputs make both exact, and there they must agree bit for bit.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/versions.h"
#include "runtime/context.h"
#include "tests/common/poison.h"
#include "tests/kernels/versions_check.h"

namespace cudp {
namespace {

using test::same_bits;

struct Shape {
  int64_t M, N, K;
};

std::string describe(int version, GemmLayout layout, const Shape& s, const std::string& more = "") {
  return "v" + std::to_string(version) + " " + gemm_layout_name(layout) +
         " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
         more;
}

// Edge sizes (primes, one off the 6/8-row and 16/32-column tiles, across the 256 K
// block) drawn at random, plus the seed-pool net's GEMMs.
std::vector<Shape> shapes() {
  const int64_t sizes[] = {1,  2,  3,  5,   7,   8,   13,  16,  17,  31,  32, 33,
                           61, 64, 97, 127, 128, 131, 193, 251, 256, 257, 293};
  std::mt19937 rng(2024);
  std::uniform_int_distribution<size_t> pick(0, std::size(sizes) - 1);
  std::vector<Shape> out;
  for (int i = 0; i < 40; ++i)
    out.push_back({sizes[pick(rng)], sizes[pick(rng)], sizes[pick(rng)]});
  // The seed-pool net's GEMMs at batch 32, and fc1's at a cpu:2 rank's batch 16.
  const Shape seed_pool[] = {{32, 512, 4096}, {32, 4096, 512}, {512, 4096, 32}, {32, 10, 512},
                             {10, 512, 32},   {64, 1024, 27},  {64, 27, 1024},  {64, 256, 576},
                             {576, 256, 64},  {64, 576, 256},  {16, 512, 4096}, {16, 4096, 512},
                             {512, 4096, 16}};
  out.insert(out.end(), std::begin(seed_pool), std::end(seed_pool));
  return out;
}

const GemmLayout kLayouts[] = {GemmLayout::NN, GemmLayout::NT, GemmLayout::TN};

// The per-element bound described at the top of the file.
std::vector<double> error_bounds(GemmLayout layout, const Shape& s, float alpha,
                                 const std::vector<float>& A, const std::vector<float>& B,
                                 float beta, const std::vector<float>& C) {
  const double u = std::ldexp(1.0, -24);
  std::vector<double> bound(static_cast<size_t>(s.M * s.N));
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t j = 0; j < s.N; ++j) {
      double sum_abs = 0;
      for (int64_t k = 0; k < s.K; ++k) {
        const double a = layout == GemmLayout::TN ? A[k * s.M + i] : A[i * s.K + k];
        const double b = layout == GemmLayout::NT ? B[j * s.K + k] : B[k * s.N + j];
        sum_abs += std::fabs(a * b);
      }
      const double c = beta == 0.0f ? 0.0 : std::fabs(beta * C[i * s.N + j]);
      bound[i * s.N + j] = 2.0 * ((s.K + 2) * u * std::fabs(alpha) * sum_abs + 2 * u * c) + 1e-30;
    }
  return bound;
}

std::vector<float> run_version(int version, int threads, GemmLayout layout, const Shape& s,
                               float alpha, const std::vector<float>& A,
                               const std::vector<float>& B, float beta, std::vector<float> C) {
  cpu::gemm_version(version, cpu_context(threads), layout, s.M, s.N, s.K, alpha, A.data(), B.data(),
                    beta, C.data());
  return C;
}

std::vector<float> run_v1(GemmLayout layout, const Shape& s, float alpha,
                          const std::vector<float>& A, const std::vector<float>& B, float beta,
                          std::vector<float> C) {
  return run_version(1, 1, layout, s, alpha, A, B, beta, std::move(C));
}

TEST(CpuGemmVersions, PackedMatchesV1OnRandomShapesEveryLayoutAlphaBeta) {
  struct Scale {
    float alpha, beta;
  };
  const Scale scales[] = {{1.0f, 0.0f}, {0.5f, 0.25f}, {-2.0f, 1.0f}};
  int seed = 0;
  for (int v : test::packed_versions())
    for (GemmLayout layout : kLayouts)
      for (const Shape& s : shapes()) {
        const Scale& sc = scales[seed % 3];
        const auto A = test::random_floats(s.M * s.K, 100 + seed);
        const auto B = test::random_floats(s.K * s.N, 200 + seed);
        // beta == 0 gets a NaN C: it must not be read.
        const auto C = sc.beta == 0.0f ? test::nan_filled(s.M * s.N)
                                       : test::random_floats(s.M * s.N, 300 + seed);
        ++seed;
        const auto fast = run_version(v, 1, layout, s, sc.alpha, A, B, sc.beta, C);
        const auto reference = run_v1(layout, s, sc.alpha, A, B, sc.beta, C);
        EXPECT_TRUE(test::within_bounds(
            fast, reference, error_bounds(layout, s, sc.alpha, A, B, sc.beta, C),
            describe(v, layout, s,
                     " alpha=" + std::to_string(sc.alpha) + " beta=" + std::to_string(sc.beta))));
      }
}

// Small integers: every partial sum is exact in float, so v1, v2 and v3 agree bitwise.
TEST(CpuGemmVersions, SmallIntegersBitwiseEqualToV1) {
  int seed = 0;
  for (int v : test::packed_versions())
    for (GemmLayout layout : kLayouts)
      for (const Shape& s : shapes()) {
        const auto A = test::random_small_ints(s.M * s.K, 400 + seed);
        const auto B = test::random_small_ints(s.K * s.N, 500 + seed);
        const auto C = test::random_small_ints(s.M * s.N, 600 + seed++);
        for (float beta : {0.0f, -3.0f}) {
          const std::string what = describe(v, layout, s, " beta=" + std::to_string(beta));
          EXPECT_TRUE(same_bits(run_version(v, 2, layout, s, 2.0f, A, B, beta, C),
                                run_v1(layout, s, 2.0f, A, B, beta, C), what));
        }
      }
}

// A NaN in one row of op(A) and one column of op(B) poisons exactly that row and
// column of C: the zero padding of edge panels must not spread it, nor hide it.
TEST(CpuGemmVersions, NanInputsPoisonExactlyTheirRowAndColumn) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int v : test::packed_versions())
    for (GemmLayout layout : kLayouts) {
      const Shape s{37, 45, 301};
      auto A = test::random_floats(s.M * s.K, 7), B = test::random_floats(s.K * s.N, 8);
      const int64_t bad_row = 36, bad_col = 44, k = 260;  // in the last row and column tiles
      A[layout == GemmLayout::TN ? k * s.M + bad_row : bad_row * s.K + k] = nan;
      B[layout == GemmLayout::NT ? bad_col * s.K + k : k * s.N + bad_col] = nan;
      const auto C = run_version(v, 3, layout, s, 1.0f, A, B, 0.0f, test::nan_filled(s.M * s.N));
      int64_t wrong = 0;
      for (int64_t i = 0; i < s.M; ++i)
        for (int64_t j = 0; j < s.N; ++j)
          wrong += std::isnan(C[i * s.N + j]) != (i == bad_row || j == bad_col);
      EXPECT_EQ(wrong, 0) << describe(v, layout, s) << ": NaNs outside row " << bad_row
                          << " / column " << bad_col << " or missing there";
    }
}

// Big enough to be split over threads (rows and columns), to cross the 192-row,
// 3072-column and 256-deep cache blocks, and to leave ragged tiles everywhere.
const Shape kThreadShapes[] = {{97, 301, 131},  {300, 37, 299}, {17, 1000, 257},
                               {200, 3100, 33}, {64, 576, 256}, {193, 97, 520}};

TEST(CpuGemmVersions, BitwiseIdenticalForThreadCountsOneTwoThreeAndRunToRun) {
  for (int v : test::packed_versions())
    for (GemmLayout layout : kLayouts)
      for (const Shape& s : kThreadShapes) {
        const auto A = test::random_floats(s.M * s.K, 11), B = test::random_floats(s.K * s.N, 12);
        const auto C = test::random_floats(s.M * s.N, 13);
        const auto one = run_version(v, 1, layout, s, 0.75f, A, B, 0.5f, C);
        for (int threads : {1, 2, 3})
          EXPECT_TRUE(same_bits(run_version(v, threads, layout, s, 0.75f, A, B, 0.5f, C), one,
                                describe(v, layout, s, " threads=" + std::to_string(threads))));
      }
}

TEST(CpuGemmVersions, V2AndV3GiveIdenticalBits) {
  if (!cpu::gemm_version_available(3))
    GTEST_SKIP() << "this CPU has no AVX-512F: v3 cannot run here";
  for (GemmLayout layout : kLayouts)
    for (const Shape& s : kThreadShapes) {
      const auto A = test::random_floats(s.M * s.K, 21), B = test::random_floats(s.K * s.N, 22);
      const auto C = test::random_floats(s.M * s.N, 23);
      EXPECT_TRUE(same_bits(run_version(2, 2, layout, s, 1.5f, A, B, -1.0f, C),
                            run_version(3, 3, layout, s, 1.5f, A, B, -1.0f, C),
                            describe(3, layout, s, " vs v2")));
    }
}

// The default is the kernel the public op runs: v3 where AVX-512 is active, else v2,
// and v2 whenever a test forces AVX2.
TEST(CpuGemmVersions, PublicGemmRunsTheDefaultVersionOfTheForcedIsa) {
  const Shape s{33, 70, 129};
  const auto A = test::random_floats(s.M * s.K, 31), B = test::random_floats(s.K * s.N, 32);
  EXPECT_EQ(cpu::gemm_default_version(), cpu::cpu_has_avx512() ? 3 : 2);
  for (cpu::CpuIsa isa : test::tested_isas()) {
    test::ScopedIsa forced(isa);
    EXPECT_EQ(cpu::active_cpu_isa(), isa);
    const int v = isa == cpu::CpuIsa::Avx512 ? 3 : 2;
    EXPECT_EQ(cpu::gemm_default_version(), v);
    auto C = test::nan_filled(s.M * s.N);
    cpu::gemm(cpu_context(2), GemmLayout::NT, s.M, s.N, s.K, 1.0f, A.data(), B.data(), 0.0f,
              C.data());
    EXPECT_TRUE(same_bits(
        C, run_version(v, 1, GemmLayout::NT, s, 1.0f, A, B, 0.0f, test::nan_filled(s.M * s.N)),
        describe(v, GemmLayout::NT, s, " public")));
  }
  EXPECT_EQ(cpu::active_cpu_isa(), cpu::cpu_has_avx512() ? cpu::CpuIsa::Avx512 : cpu::CpuIsa::Avx2);
  if (!cpu::cpu_has_avx512()) {
    EXPECT_THROW(cpu::force_cpu_isa(cpu::CpuIsa::Avx512), Error);
  }
}

// Numbers out of range, and v3 where the CPU cannot run it, throw instead of running something.
TEST(CpuGemmVersions, UnknownOrUnavailableVersionsThrow) {
  EXPECT_EQ(cpu::gemm_versions(), 3);
  std::vector<float> A = {1.0f}, C = {0.0f};
  for (int v : {0, 4, -1}) {
    EXPECT_FALSE(cpu::gemm_version_available(v)) << "v" << v;
    EXPECT_THROW(cpu::gemm_version(v, cpu_context(), GemmLayout::NN, 1, 1, 1, 1.0f, A.data(),
                                   A.data(), 0.0f, C.data()),
                 Error)
        << "v" << v;
  }
  for (int v : {1, 2}) EXPECT_TRUE(cpu::gemm_version_available(v)) << "v" << v;
  EXPECT_EQ(cpu::gemm_version_available(3), cpu::cpu_has_avx512());
  if (!cpu::cpu_has_avx512()) {
    EXPECT_THROW(cpu::gemm_version(3, cpu_context(), GemmLayout::NN, 1, 1, 1, 1.0f, A.data(),
                                   A.data(), 0.0f, C.data()),
                 Error);
  }
}

TEST(CpuGemmVersions, KZeroAndEmptyOutputs) {
  for (int v : test::packed_versions()) {
    const Shape s{3, 5, 0};
    EXPECT_TRUE(
        same_bits(run_version(v, 2, GemmLayout::NN, s, 1.0f, {}, {}, 0.0f, test::nan_filled(15)),
                  std::vector<float>(15, 0.0f), "K=0 beta=0"));
    std::vector<float> C(15, 3.0f);
    EXPECT_TRUE(same_bits(run_version(v, 2, GemmLayout::TN, s, 1.0f, {}, {}, 2.0f, C),
                          std::vector<float>(15, 6.0f), "K=0 beta=2"));
    std::vector<float> guard = {7.0f};
    const std::vector<float> A = {1.0f, 2.0f};
    cpu::gemm_version(v, cpu_context(2), GemmLayout::NN, 0, 1, 2, 1.0f, A.data(), A.data(), 0.0f,
                      guard.data());
    cpu::gemm_version(v, cpu_context(2), GemmLayout::NT, 1, 0, 2, 1.0f, A.data(), A.data(), 0.0f,
                      guard.data());
    EXPECT_EQ(guard[0], 7.0f);
  }
}

// gemm_strided on a block of a wider C (ldc > N), as conv2d's backward-weight uses it:
// the block is written, every other element is left alone.
TEST(CpuGemmVersions, StridedBlockLeavesTheRestOfCUntouched) {
  for (cpu::CpuIsa isa : test::tested_isas()) {
    const int64_t M = 13, N = 37, K = 50, ldc = 61, col0 = 11;
    const auto A = test::random_small_ints(M * K, 41), B = test::random_small_ints(K * N, 42);
    std::vector<float> C(static_cast<size_t>(M * ldc), 9.0f);
    cpu::gemm_strided(isa, M, N, K, 1.0f, {A.data(), K, 1}, {B.data(), N, 1}, 0.0f, C.data() + col0,
                      ldc);
    const auto expected =
        run_v1(GemmLayout::NN, {M, N, K}, 1.0f, A, B, 0.0f, test::nan_filled(M * N));
    int64_t wrong = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < ldc; ++j) {
        const bool inside = j >= col0 && j < col0 + N;
        wrong += C[i * ldc + j] != (inside ? expected[i * N + j - col0] : 9.0f);
      }
    EXPECT_EQ(wrong, 0) << cpu::cpu_isa_name(isa) << ": elements wrong in or around the block";
  }
}

}  // namespace
}  // namespace cudp
