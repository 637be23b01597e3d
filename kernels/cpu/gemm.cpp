// CPU GEMM, row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (kernels/gemm.h).
//
// Versions (gemm_version, kernels/cpu/versions.h; the public op runs the default):
//   v1: plain 4x16 tiles that g++ auto-vectorizes (this file); one thread; the reference
//   v2: packed panels, cache blocking, AVX2+FMA 6x16 micro-kernel (gemm_packed.cpp)
//   v3: v2's driver with an AVX-512 8x32 micro-kernel, where the CPU has AVX-512F
// The default is v3 where active_cpu_isa() is AVX-512, else v2 (gemm_packed.h); the
// dispatcher is at the end of this file. The rest of this comment is about v1.
//
// Layout: every matrix is contiguous row-major. op(A)(i,k) is read through two
// strides (NN/NT: A[i*K + k]; TN: A[k*M + i]); op(B) must be a row-major [K,N]
// panel, so NT's B ([N,K]) is first transposed into a thread_local scratch.
//
// Speed comes from plain loops that g++ -O3 -march=x86-64-v3 vectorizes: C is
// cut into kRows x kCols tiles and each tile's sums live in a small local array
// (8 AVX2 registers) for the whole K loop, so every B load feeds kRows FMAs and
// C is touched once. Tiles at the right/bottom edge take the same loop with
// run-time bounds.
//
// The decision a reader would get wrong: the sum is formed first and C is
// written as alpha * sum + beta * C[i,j]; when beta == 0, C is NOT read (BLAS
// semantics), so NaN or garbage already in C never leaks into the result.
// alpha == 0 is NOT special: A and B are still read (a NaN there stays NaN).
#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm_packed.h"
#include "kernels/cpu/versions.h"

namespace cudp::cpu {
namespace {

constexpr int64_t kRows = 4;   // rows of C per tile
constexpr int64_t kCols = 16;  // columns of C per tile: two 8-float AVX2 vectors

// Strided view of op(A): element (i, k) is a[i * row + k * col].
struct StridedA {
  const float* a;
  int64_t row, col;
};

// One full kRows x kCols tile of C at (i0, j0). The four rows are spelled out
// so that g++ keeps the 4 x 16 sums in eight AVX2 registers for the whole K
// loop (g++ 12 leaves a 2-D local array on the stack: over 10x slower).
void gemm_tile_full(StridedA A, const float* B, int64_t N, int64_t K, int64_t i0, int64_t j0,
                    float alpha, float beta, float* C) {
  float s0[kCols] = {}, s1[kCols] = {}, s2[kCols] = {}, s3[kCols] = {};
  const float* a = A.a + i0 * A.row;  // op(A)(i0, 0)
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * N + j0;  // op(B)(k, j0)
    const float* ak = a + k * A.col;  // op(A)(i0, k); the next rows are A.row apart
    const float a0 = ak[0], a1 = ak[A.row], a2 = ak[2 * A.row], a3 = ak[3 * A.row];
    for (int64_t c = 0; c < kCols; ++c) {
      s0[c] += a0 * b[c];
      s1[c] += a1 * b[c];
      s2[c] += a2 * b[c];
      s3[c] += a3 * b[c];
    }
  }
  const float* sums[kRows] = {s0, s1, s2, s3};
  for (int64_t r = 0; r < kRows; ++r) {
    float* c_row = C + (i0 + r) * N + j0;
    for (int64_t c = 0; c < kCols; ++c)
      c_row[c] = beta == 0.0f ? alpha * sums[r][c] : alpha * sums[r][c] + beta * c_row[c];
  }
}

// An edge tile (rows <= kRows, cols <= kCols): the same sums, plain bounds.
void gemm_tile_edge(StridedA A, const float* B, int64_t N, int64_t K, int64_t i0, int64_t j0,
                    int64_t rows, int64_t cols, float alpha, float beta, float* C) {
  float sum[kRows][kCols] = {};
  for (int64_t k = 0; k < K; ++k) {
    const float* b = B + k * N + j0;
    for (int64_t r = 0; r < rows; ++r) {
      const float a = A.a[(i0 + r) * A.row + k * A.col];
      for (int64_t c = 0; c < cols; ++c) sum[r][c] += a * b[c];
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* c_row = C + (i0 + r) * N + j0;
    for (int64_t c = 0; c < cols; ++c)
      c_row[c] = beta == 0.0f ? alpha * sum[r][c] : alpha * sum[r][c] + beta * c_row[c];
  }
}

// Transposes src [rows, cols] into dst [cols, rows], in blocks that stay in cache.
void transpose(const float* src, int64_t rows, int64_t cols, float* dst) {
  constexpr int64_t kBlock = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock)
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t r1 = std::min(rows, r0 + kBlock), c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
    }
}

void gemm_v1(const Context& /*ctx*/, GemmLayout layout, int64_t M, int64_t N, int64_t K,
             float alpha, const float* A, const float* B, float beta, float* C) {
  CUDP_ASSERT(M >= 0 && N >= 0 && K >= 0);
  if (M == 0 || N == 0) return;

  // op(A)(i,k): NN and NT store A as [M,K]; TN stores it as [K,M].
  const StridedA a = layout == GemmLayout::TN ? StridedA{A, 1, M} : StridedA{A, K, 1};

  // op(B) as a row-major [K,N] panel: NT's B is [N,K] and is transposed once per call.
  const float* b = B;
  if (layout == GemmLayout::NT && K > 0) {
    thread_local std::vector<float> b_transposed;
    if (b_transposed.size() < static_cast<size_t>(K * N))
      b_transposed.resize(static_cast<size_t>(K * N));
    transpose(B, N, K, b_transposed.data());
    b = b_transposed.data();
  }

  // Column tiles outside, row tiles inside: the K x kCols slice of B that a
  // column of tiles reads stays in cache while every row tile uses it.
  for (int64_t j0 = 0; j0 < N; j0 += kCols) {
    const int64_t cols = std::min(kCols, N - j0);
    for (int64_t i0 = 0; i0 < M; i0 += kRows) {
      const int64_t rows = std::min(kRows, M - i0);
      if (rows == kRows && cols == kCols)
        gemm_tile_full(a, b, N, K, i0, j0, alpha, beta, C);
      else
        gemm_tile_edge(a, b, N, K, i0, j0, rows, cols, alpha, beta, C);
    }
  }
}

}  // namespace

int gemm_versions() { return 3; }
int gemm_default_version() { return active_cpu_isa() == CpuIsa::Avx512 ? 3 : 2; }
bool gemm_version_available(int version) {
  return version >= 1 && version <= gemm_versions() && (version != 3 || cpu_has_avx512());
}

void gemm_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                  int64_t K, float alpha, const float* A, const float* B, float beta, float* C) {
  check_version("gemm", version, gemm_versions());
  switch (version) {
    case 1:
      return gemm_v1(ctx, layout, M, N, K, alpha, A, B, beta, C);
    case 2:
      return gemm_packed(ctx, CpuIsa::Avx2, layout, M, N, K, alpha, A, B, beta, C);
    case 3:
      if (!cpu_has_avx512()) fail("gemm (cpu): version 3 needs AVX-512F, which this CPU lacks");
      return gemm_packed(ctx, CpuIsa::Avx512, layout, M, N, K, alpha, A, B, beta, C);
  }
}

void gemm(const Context& ctx, GemmLayout layout, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, const float* B, float beta, float* C) {
  if (ctx.math == Math::tf32)
    return gemm_tf32_version(gemm_tf32_default_version(), ctx, layout, M, N, K, alpha, A, B, beta,
                             C);
  gemm_version(gemm_default_version(), ctx, layout, M, N, K, alpha, A, B, beta, C);
}

}  // namespace cudp::cpu
