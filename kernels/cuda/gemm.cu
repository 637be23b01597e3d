// CUDA GEMM, row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (kernels/gemm.h).
//
// Versions (gemm_version; the public op runs the default, v5):
//   v1: one thread per output, operands read straight from global memory.
//   v2: 32 x 32 output tiles, A and B staged through shared memory, one output per thread.
//   v3: 128 x 128 tiles, BK = 8, 2-D register blocking: each thread owns an 8 x 8 block of C.
//   v4: 128 x 128 x 8 tiles, float4 global loads (when K or M/N is a multiple of 4 and the
//       pointer is 16-byte aligned; scalar loads otherwise), double-buffered shared memory
//       filled from registers, float4 fragment reads, warp tiling (a warp owns 64 x 32 of C).
//   v5: v4, plus split-K when the output tiles cannot fill the GPU (Linear's forward at batch
//       32: 32 x 512 is 4 tiles): each split writes its partial C to a scratch buffer and a
//       second kernel adds the splits in a fixed order and applies alpha and beta.
//   v6: 128 x 256 x 8 tiles through a 4-stage cp.async pipeline (16-byte copies of
//       x-contiguous operands, 4-byte transposing copies otherwise, zero-fill past the edges),
//       64 x 64 warp tiles, double-buffered register fragments, grouped threadblock swizzle,
//       v5's split-K (kernels/cuda/gemm_v6.cu). Unverified on silicon; not the default
//       until a committed GPU report shows it passing and faster.
//
// Layouts. Each operand is read as a matrix of (x, k) elements, x being a row of op(A) or a
// column of op(B). It is "k-contiguous" when element (x, k) lives at x*K + k (A in NN/NT, B in
// NT) and "x-contiguous" when it lives at k*X + x (A in TN, B in NN/TN). The tile loaders are
// templates on that one bit, so a layout costs nothing at run time; both store the tile in
// shared memory as [k][x], so the compute loop is the same for all three layouts.
//
// The decisions a reader would get wrong:
//  - tiles are zero-filled past M, N and K, so the compute loops have no bounds checks; only
//    the loaders and the epilogue test bounds;
//  - beta == 0 never reads C (NaN in C must not leak), as BLAS and the CPU twin;
//  - the grid is 1-D over (m tile, n tile) pairs, so no dimension hits the 65535 limit of
//    gridDim.y; consecutive blocks share an A panel and walk along N (gridDim.y = splits);
//  - v4/v5 index in 32 bits (64-bit math costs ~30 registers and would push the kernel past
//    128, the limit for two blocks per multiprocessor): larger matrices run v3;
//  - v5 is deterministic (no atomics) but its summation order depends on the number of
//    splits, hence on the GPU's multiprocessor count: the same card gives the same bits.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_v6.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/gemm.h"

namespace cudp::cuda {
namespace {

using cuda_detail::ceil_div;

struct GemmArgs {
  int64_t M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;
  int64_t n_tiles;  // tiles along N: block b covers m tile b / n_tiles, n tile b % n_tiles
};

// A is k-contiguous except in TN; B (seen as [N,K]) is k-contiguous only in NT.
template <GemmLayout L>
constexpr bool kAKContig = L != GemmLayout::TN;
template <GemmLayout L>
constexpr bool kBKContig = L == GemmLayout::NT;

// Element (x, k) of an operand with X rows of op and K-deep, no bounds check.
template <bool kKContig>
__device__ __forceinline__ float operand_at(const float* p, int64_t X, int64_t K, int64_t x,
                                            int64_t k) {
  return kKContig ? p[x * K + k] : p[k * X + x];
}

__device__ __forceinline__ float epilogue(float acc, float alpha, float beta, const float* c) {
  return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
}

// ---------------------------------------------------------------- v1: naive
constexpr int kTile1 = 16;

template <GemmLayout L>
__global__ void gemm_kernel1(GemmArgs g) {
  const int64_t i = (blockIdx.x / g.n_tiles) * kTile1 + threadIdx.y;
  const int64_t j = (blockIdx.x % g.n_tiles) * kTile1 + threadIdx.x;  // x fastest: C coalesced
  if (i >= g.M || j >= g.N) return;
  float acc = 0.0f;
  for (int64_t k = 0; k < g.K; ++k)
    acc += operand_at<kAKContig<L>>(g.A, g.M, g.K, i, k) *
           operand_at<kBKContig<L>>(g.B, g.N, g.K, j, k);
  float* c = g.C + i * g.N + j;
  *c = epilogue(acc, g.alpha, g.beta, c);
}

// ------------------------------------------------- shared scalar tile loader (v2, v3)
// Fills s[k][x] (BK x BX, row pitch BX + kPad) with element (x0 + x, k0 + k), 0 outside
// [0, X) x [0, K). Consecutive threads take consecutive addresses of the operand: along k when
// it is k-contiguous, along x otherwise.
template <int BX, int BK, int kPad, int kThreads, bool kKContig>
__device__ __forceinline__ void load_tile(float (*s)[BX + kPad], const float* p, int64_t X,
                                          int64_t K, int64_t x0, int64_t k0, int tid) {
  static_assert((BX * BK) % kThreads == 0, "tile must split evenly over the threads");
#pragma unroll
  for (int it = 0; it < BX * BK / kThreads; ++it) {
    const int e = it * kThreads + tid;
    const int x = kKContig ? e / BK : e % BX;
    const int k = kKContig ? e % BK : e / BX;
    const int64_t gx = x0 + x, gk = k0 + k;
    s[k][x] = (gx < X && gk < K) ? operand_at<kKContig>(p, X, K, gx, gk) : 0.0f;
  }
}

// ---------------------------------------------------------------- v2: smem tiles
constexpr int kTile2 = 32;

template <GemmLayout L>
__global__ void __launch_bounds__(kTile2* kTile2) gemm_kernel2(GemmArgs g) {
  // [k][x] with one float of padding: a k-contiguous fill writes down a column conflict-free.
  __shared__ float As[kTile2][kTile2 + 1];
  __shared__ float Bs[kTile2][kTile2 + 1];
  const int tid = threadIdx.y * kTile2 + threadIdx.x;
  const int64_t m0 = (blockIdx.x / g.n_tiles) * kTile2, n0 = (blockIdx.x % g.n_tiles) * kTile2;
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < g.K; k0 += kTile2) {
    load_tile<kTile2, kTile2, 1, kTile2 * kTile2, kAKContig<L>>(As, g.A, g.M, g.K, m0, k0, tid);
    load_tile<kTile2, kTile2, 1, kTile2 * kTile2, kBKContig<L>>(Bs, g.B, g.N, g.K, n0, k0, tid);
    __syncthreads();
#pragma unroll 8
    for (int k = 0; k < kTile2; ++k) acc += As[k][threadIdx.y] * Bs[k][threadIdx.x];
    __syncthreads();  // the next fill overwrites the tiles
  }
  const int64_t i = m0 + threadIdx.y, j = n0 + threadIdx.x;
  if (i < g.M && j < g.N) {
    float* c = g.C + i * g.N + j;
    *c = epilogue(acc, g.alpha, g.beta, c);
  }
}

// ---------------------------------------------------------------- v3: register blocking
constexpr int kBM3 = 128, kBN3 = 128, kBK3 = 8, kT3 = 8, kThreads3 = 256;

template <GemmLayout L>
__global__ void __launch_bounds__(kThreads3) gemm_kernel3(GemmArgs g) {
  __shared__ float As[kBK3][kBM3 + 1];
  __shared__ float Bs[kBK3][kBN3 + 1];
  const int tid = threadIdx.x;
  const int row = (tid / (kBN3 / kT3)) * kT3;  // this thread's 8 x 8 block of the tile
  const int col = (tid % (kBN3 / kT3)) * kT3;
  const int64_t m0 = (blockIdx.x / g.n_tiles) * kBM3, n0 = (blockIdx.x % g.n_tiles) * kBN3;
  float acc[kT3][kT3] = {};
  for (int64_t k0 = 0; k0 < g.K; k0 += kBK3) {
    load_tile<kBM3, kBK3, 1, kThreads3, kAKContig<L>>(As, g.A, g.M, g.K, m0, k0, tid);
    load_tile<kBN3, kBK3, 1, kThreads3, kBKContig<L>>(Bs, g.B, g.N, g.K, n0, k0, tid);
    __syncthreads();
#pragma unroll
    for (int k = 0; k < kBK3; ++k) {
      float a[kT3], b[kT3];
#pragma unroll
      for (int i = 0; i < kT3; ++i) a[i] = As[k][row + i];
#pragma unroll
      for (int j = 0; j < kT3; ++j) b[j] = Bs[k][col + j];
#pragma unroll
      for (int i = 0; i < kT3; ++i)
#pragma unroll
        for (int j = 0; j < kT3; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    __syncthreads();  // the next fill overwrites the tiles
  }
#pragma unroll
  for (int i = 0; i < kT3; ++i) {
    const int64_t gi = m0 + row + i;
    if (gi >= g.M) continue;
#pragma unroll
    for (int j = 0; j < kT3; ++j) {
      const int64_t gj = n0 + col + j;
      if (gj < g.N) {
        float* c = g.C + gi * g.N + gj;
        *c = epilogue(acc[i][j], g.alpha, g.beta, c);
      }
    }
  }
}

// ---------------------------------------------------------------- v4: float4 + warp tiles
// Block tile 128 x 128 x 8, 256 threads = 8 warps as 2 (M) x 4 (N), warp tile 64 x 32.
// In a warp, lane = 4 * lm + ln (lm 0..7, ln 0..3); the thread's 8 x 8 outputs are 2 x 2
// sub-blocks of 4 x 4 at warp-tile rows {4*lm, 32 + 4*lm} and columns {4*ln, 16 + 4*ln}, so
// each k step reads four float4 fragments that a warp fetches without bank conflicts.
// Index math is 32-bit (64-bit math cost ~30 registers): each matrix must hold < 2^31
// elements, which the launcher checks (larger problems run v3).
struct GemmArgs32 {
  int M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;  // output, or the split-K partial buffer (v5)
  int n_tiles;
  int k_tiles_per_split;  // blockIdx.y = split: k tiles [y * this, (y + 1) * this)
  int split_stride;       // M * N: distance between two splits' partial outputs
};

constexpr int kBM4 = 128, kBN4 = 128, kBK4 = 8, kThreads4 = 256;
constexpr int kPad4 = 4;  // keeps every row of the [k][x] tiles 16-byte aligned
constexpr int kStage4 = kBM4 * kBK4 / kThreads4;  // 4 floats per thread per operand
static_assert(kBM4 == kBN4, "one staging layout serves both operands");

// Reads this thread's kStage4 elements of the (x0.., k0..) tile of one operand into registers.
// kVec: one float4 (requires the float4 to lie wholly inside or outside [0,X) x [0,K),
// which K % 4 == 0 (k-contiguous) or X % 4 == 0 (x-contiguous) guarantees).
template <bool kKContig>
__device__ __forceinline__ float operand_at32(const float* p, int X, int K, int x, int k) {
  return kKContig ? p[x * K + k] : p[k * X + x];
}

template <bool kKContig, bool kVec>
__device__ __forceinline__ void stage_load(const float* __restrict__ p, int X, int K, int x0,
                                           int k0, int tid, float (&r)[kStage4]) {
  if constexpr (kVec) {
#pragma unroll
    for (int it = 0; it < kStage4 / 4; ++it) {
      const int v = it * kThreads4 + tid;  // float4 index in the tile
      // k-contig: kBK4 / 4 float4 along each x; x-contig: kBM4 / 4 float4 along each k.
      const int x = kKContig ? v / (kBK4 / 4) : (v % (kBM4 / 4)) * 4;
      const int k = kKContig ? (v % (kBK4 / 4)) * 4 : v / (kBM4 / 4);
      const int gx = x0 + x, gk = k0 + k;
      float4 f = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (gx < X && gk < K)
        f = *reinterpret_cast<const float4*>(kKContig ? p + gx * K + gk : p + gk * X + gx);
      r[4 * it + 0] = f.x;
      r[4 * it + 1] = f.y;
      r[4 * it + 2] = f.z;
      r[4 * it + 3] = f.w;
    }
  } else {
#pragma unroll
    for (int it = 0; it < kStage4; ++it) {
      const int e = it * kThreads4 + tid;
      const int x = kKContig ? e / kBK4 : e % kBM4;
      const int k = kKContig ? e % kBK4 : e / kBM4;
      const int gx = x0 + x, gk = k0 + k;
      r[it] = (gx < X && gk < K) ? operand_at32<kKContig>(p, X, K, gx, gk) : 0.0f;
    }
  }
}

// Writes the registers of stage_load into s[k][x], with the same element mapping.
template <bool kKContig, bool kVec>
__device__ __forceinline__ void stage_store(float (*s)[kBM4 + kPad4], int tid,
                                            const float (&r)[kStage4]) {
  if constexpr (kVec) {
#pragma unroll
    for (int it = 0; it < kStage4 / 4; ++it) {
      const int v = it * kThreads4 + tid;
      if constexpr (kKContig) {  // 4 consecutive k of one x: a column of the [k][x] tile
        const int x = v / (kBK4 / 4), k = (v % (kBK4 / 4)) * 4;
#pragma unroll
        for (int c = 0; c < 4; ++c) s[k + c][x] = r[4 * it + c];
      } else {  // 4 consecutive x of one k: one float4 in a row
        const int x = (v % (kBM4 / 4)) * 4, k = v / (kBM4 / 4);
        *reinterpret_cast<float4*>(&s[k][x]) =
            make_float4(r[4 * it + 0], r[4 * it + 1], r[4 * it + 2], r[4 * it + 3]);
      }
    }
  } else {
#pragma unroll
    for (int it = 0; it < kStage4; ++it) {
      const int e = it * kThreads4 + tid;
      const int x = kKContig ? e / kBK4 : e % kBM4;
      const int k = kKContig ? e % kBK4 : e / kBM4;
      s[k][x] = r[it];
    }
  }
}

template <GemmLayout L, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(kThreads4, kVecA&& kVecB ? 2 : 1)
    gemm_kernel4(GemmArgs32 g, bool vec_c) {
  __shared__ __align__(16) float As[2][kBK4][kBM4 + kPad4];
  __shared__ __align__(16) float Bs[2][kBK4][kBN4 + kPad4];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = (warp / 4) * 64, wn = (warp % 4) * 32;  // warp tile origin in the block tile
  const int tm = (lane / 4) * 4, tn = (lane % 4) * 4;    // first row / column in the warp tile
  const int m0 = (blockIdx.x / g.n_tiles) * kBM4, n0 = (blockIdx.x % g.n_tiles) * kBN4;
  const int k_tiles = (g.K + kBK4 - 1) / kBK4;
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int t_end = min(k_tiles, t_begin + g.k_tiles_per_split);
  float* const C = g.C + static_cast<size_t>(blockIdx.y) * g.split_stride;

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  float ra[kStage4], rb[kStage4];
  if (t_begin < t_end) {
    stage_load<kAKContig<L>, kVecA>(g.A, g.M, g.K, m0, t_begin * kBK4, tid, ra);
    stage_load<kBKContig<L>, kVecB>(g.B, g.N, g.K, n0, t_begin * kBK4, tid, rb);
    stage_store<kAKContig<L>, kVecA>(As[0], tid, ra);
    stage_store<kBKContig<L>, kVecB>(Bs[0], tid, rb);
    __syncthreads();
  }
  for (int t = t_begin; t < t_end; ++t) {
    const int cur = (t - t_begin) & 1;
    const bool more = t + 1 < t_end;
    if (more) {  // next tile's global loads are in flight during this tile's FMAs
      const int k0 = (t + 1) * kBK4;
      stage_load<kAKContig<L>, kVecA>(g.A, g.M, g.K, m0, k0, tid, ra);
      stage_load<kBKContig<L>, kVecB>(g.B, g.N, g.K, n0, k0, tid, rb);
    }
#pragma unroll
    for (int k = 0; k < kBK4; ++k) {
      const float4 a0 = *reinterpret_cast<const float4*>(&As[cur][k][wm + tm]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[cur][k][wm + 32 + tm]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][k][wn + tn]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][k][wn + 16 + tn]);
      const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      // Buffer cur ^ 1 was last read in iteration t - 1, which ended with a barrier.
      stage_store<kAKContig<L>, kVecA>(As[cur ^ 1], tid, ra);
      stage_store<kBKContig<L>, kVecB>(Bs[cur ^ 1], tid, rb);
    }
    __syncthreads();  // the stored tile is complete / buffer cur may be overwritten next
  }

  // Epilogue: row i of the thread block is 4*lm + i (i < 4) or 32 + 4*lm + i - 4.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int gi = m0 + wm + (i < 4 ? tm + i : 32 + tm + i - 4);
    if (gi >= g.M) continue;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int gj = n0 + wn + h * 16 + tn;  // first of 4 consecutive columns
      float* c = C + gi * g.N + gj;
      if (vec_c && gj < g.N) {  // N % 4 == 0: all 4 columns are inside
        float4 v = make_float4(g.alpha * acc[i][4 * h + 0], g.alpha * acc[i][4 * h + 1],
                               g.alpha * acc[i][4 * h + 2], g.alpha * acc[i][4 * h + 3]);
        if (g.beta != 0.0f) {
          const float4 old = *reinterpret_cast<const float4*>(c);
          v.x += g.beta * old.x;
          v.y += g.beta * old.y;
          v.z += g.beta * old.z;
          v.w += g.beta * old.w;
        }
        *reinterpret_cast<float4*>(c) = v;
      } else if (!vec_c) {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (gj + j < g.N) c[j] = epilogue(acc[i][4 * h + j], g.alpha, g.beta, c + j);
      }
    }
  }
}

// ---------------------------------------------------------------- launchers
// Calls f(tag) where decltype(tag)::value is the layout as a compile-time constant (C++17 has
// no template lambdas).
template <GemmLayout L>
struct LayoutTag {
  static constexpr GemmLayout value = L;
};

template <class F>
void with_layout(GemmLayout layout, F&& f) {
  switch (layout) {
    case GemmLayout::NN:
      f(LayoutTag<GemmLayout::NN>{});
      return;
    case GemmLayout::NT:
      f(LayoutTag<GemmLayout::NT>{});
      return;
    case GemmLayout::TN:
      f(LayoutTag<GemmLayout::TN>{});
      return;
  }
  fail("gemm: unknown layout ", static_cast<int>(layout));
}

GemmArgs make_args(int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
                   float beta, float* C, int tile_m, int tile_n, unsigned& blocks) {
  const int64_t m_tiles = ceil_div(M, tile_m), n_tiles = ceil_div(N, tile_n);
  if (m_tiles * n_tiles > 0x7fffffff)
    fail("gemm: ", M, " x ", N, " needs ", m_tiles * n_tiles, " tiles, more than a grid holds");
  blocks = static_cast<unsigned>(m_tiles * n_tiles);
  return GemmArgs{M, N, K, alpha, beta, A, B, C, n_tiles};
}

// v5's second pass: C = alpha * (sum of the splits' partial sums, in split order) + beta * C.
__global__ void gemm_split_reduce_kernel(const float* __restrict__ partial, int splits,
                                         int64_t count, float alpha, float beta,
                                         float* __restrict__ C) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += step) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partial[s * count + i];
    C[i] = epilogue(sum, alpha, beta, C + i);
  }
}

// v4, and v5 = v4 with split-K when the output tiles alone cannot fill the GPU.
void launch_v4(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M, int64_t N,
               int64_t K, float alpha, const float* A, const float* B, float beta, float* C,
               bool allow_split) {
  // 32-bit indexing; the margin covers offsets computed just past the last tile.
  const int64_t kLimit = (int64_t{1} << 31) - (int64_t{1} << 20);
  if (M * K > kLimit || K * N > kLimit || M * N > kLimit)
    return gemm_version(3, ctx, layout, M, N, K, alpha, A, B, beta, C);
  unsigned tiles = 0;
  const GemmArgs g64 = make_args(M, N, K, alpha, A, B, beta, C, kBM4, kBN4, tiles);
  const int k_tiles = static_cast<int>(ceil_div(K, kBK4));
  int splits = 1;
  if (allow_split) {
    // Aim at 2 blocks per multiprocessor; keep each split >= 4 k-tiles (32 deep) and the
    // partial buffer inside 32-bit indexing.
    const int64_t target = 2 * cuda_detail::multiprocessor_count(ctx.device.index);
    int64_t want = std::min<int64_t>(ceil_div(target, tiles), k_tiles / 4);
    while (want > 1 && want * M * N > kLimit) --want;
    splits = static_cast<int>(std::max<int64_t>(want, 1));
  }
  const int per_split = std::max(1, static_cast<int>(ceil_div(k_tiles, splits)));
  splits = std::max(1, static_cast<int>(ceil_div(k_tiles, per_split)));  // no empty split
  float* out = C;
  if (splits > 1)
    out = static_cast<float*>(cuda_detail::scratch(
        ctx, static_cast<size_t>(splits) * static_cast<size_t>(M * N) * sizeof(float)));
  // With splits the kernel writes raw sums (alpha 1, beta 0) and the reduction applies both.
  const GemmArgs32 g{static_cast<int>(M),
                     static_cast<int>(N),
                     static_cast<int>(K),
                     splits > 1 ? 1.0f : alpha,
                     splits > 1 ? 0.0f : beta,
                     A,
                     B,
                     out,
                     static_cast<int>(g64.n_tiles),
                     per_split,
                     static_cast<int>(M * N)};
  const bool vec_c = N % 4 == 0 && cuda_detail::aligned16(out);
  const dim3 grid(tiles, static_cast<unsigned>(splits));
  with_layout(layout, [&](auto tag) {
    constexpr GemmLayout L = decltype(tag)::value;
    // float4 along k needs K % 4 == 0; along x needs M % 4 (A) or N % 4 (B) == 0.
    const bool vec_a = cuda_detail::aligned16(A) && (kAKContig<L> ? K % 4 == 0 : M % 4 == 0);
    const bool vec_b = cuda_detail::aligned16(B) && (kBKContig<L> ? K % 4 == 0 : N % 4 == 0);
    if (vec_a && vec_b)
      gemm_kernel4<L, true, true><<<grid, kThreads4, 0, stream>>>(g, vec_c);
    else if (vec_a)
      gemm_kernel4<L, true, false><<<grid, kThreads4, 0, stream>>>(g, vec_c);
    else if (vec_b)
      gemm_kernel4<L, false, true><<<grid, kThreads4, 0, stream>>>(g, vec_c);
    else
      gemm_kernel4<L, false, false><<<grid, kThreads4, 0, stream>>>(g, vec_c);
  });
  CUDP_LAUNCH_CHECK("gemm_kernel4", stream);
  if (splits > 1) gemm_detail::gemm_split_reduce(ctx, stream, out, splits, M * N, alpha, beta, C);
}

}  // namespace

void gemm_detail::gemm_split_reduce(const Context& ctx, cudaStream_t stream, const float* partial,
                                    int splits, int64_t count, float alpha, float beta, float* C) {
  constexpr int kReduceThreads = 256;
  gemm_split_reduce_kernel<<<cuda_detail::grid_stride_blocks(ctx.device.index, count,
                                                             kReduceThreads),
                             kReduceThreads, 0, stream>>>(partial, splits, count, alpha, beta, C);
  CUDP_LAUNCH_CHECK("gemm_split_reduce_kernel", stream);
}

int gemm_versions() { return 6; }
int gemm_default_version() { return 5; }

void gemm_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                  int64_t K, float alpha, const float* A, const float* B, float beta, float* C) {
  if (version < 1 || version > gemm_versions())
    fail("gemm: version ", version, " does not exist (1..", gemm_versions(), ")");
  if (M < 0 || N < 0 || K < 0)
    fail("gemm: sizes must be >= 0, found M = ", M, ", N = ", N, ", K = ", K);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (M == 0 || N == 0) return;
  unsigned blocks = 0;
  switch (version) {
    case 1: {
      const GemmArgs g = make_args(M, N, K, alpha, A, B, beta, C, kTile1, kTile1, blocks);
      with_layout(layout, [&](auto tag) {
        constexpr GemmLayout L = decltype(tag)::value;
        gemm_kernel1<L><<<blocks, dim3(kTile1, kTile1), 0, stream>>>(g);
      });
      CUDP_LAUNCH_CHECK("gemm_kernel1", stream);
      return;
    }
    case 2: {
      const GemmArgs g = make_args(M, N, K, alpha, A, B, beta, C, kTile2, kTile2, blocks);
      with_layout(layout, [&](auto tag) {
        constexpr GemmLayout L = decltype(tag)::value;
        gemm_kernel2<L><<<blocks, dim3(kTile2, kTile2), 0, stream>>>(g);
      });
      CUDP_LAUNCH_CHECK("gemm_kernel2", stream);
      return;
    }
    case 3: {
      const GemmArgs g = make_args(M, N, K, alpha, A, B, beta, C, kBM3, kBN3, blocks);
      with_layout(layout, [&](auto tag) {
        constexpr GemmLayout L = decltype(tag)::value;
        gemm_kernel3<L><<<blocks, kThreads3, 0, stream>>>(g);
      });
      CUDP_LAUNCH_CHECK("gemm_kernel3", stream);
      return;
    }
    case 4:
    case 5:
      launch_v4(ctx, stream, layout, M, N, K, alpha, A, B, beta, C, version == 5);
      return;
    default:
      gemm_detail::gemm_v6(ctx, stream, layout, M, N, K, alpha, A, B, beta, C);
      return;
  }
}

void gemm(const Context& ctx, GemmLayout layout, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, const float* B, float beta, float* C) {
  if (ctx.math == Math::tf32)
    return gemm_tf32_version(gemm_tf32_default_version(), ctx, layout, M, N, K, alpha, A, B, beta,
                             C);
  gemm_version(gemm_default_version(), ctx, layout, M, N, K, alpha, A, B, beta, C);
}

}  // namespace cudp::cuda
