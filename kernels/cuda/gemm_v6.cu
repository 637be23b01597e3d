// CUDA GEMM v6 (see kernels/cuda/gemm.cu for the op, the layouts and versions 1..5):
// 128 x 256 x 8 block tiles, a 4-stage cp.async pipeline, 64 x 64 warp tiles, register
// fragments double-buffered across k, a grouped threadblock swizzle, and v5's split-K.
// Unverified on silicon: written and checked with ptxas and the CPU layout test only.
//
// One block = 256 threads = 8 warps as 2 (M) x 4 (N); each thread owns 8 x 16 outputs
// (kernels/cuda/gemm_v6_layout.h has the index math and its test). Each k-tile of A (128 x 8)
// and B (256 x 8) goes from global memory straight into shared memory with cp.async, stored as
// [k][x] for every layout so the compute loop is one:
//  - x-contiguous operand (A in TN, B in NN/TN), X % 4 == 0, 16-byte aligned pointer:
//    cp.async.cg 16-byte copies of 4 consecutive x;
//  - otherwise, and always for a k-contiguous operand (A in NN/NT, B in NT: the copy
//    transposes), cp.async.ca 4-byte copies.
// Copies past M, N or K pass src-size 0: cp.async writes zeros and reads nothing, so the
// compute loop has no bounds checks and no load ever leaves the matrices. No alignment or
// divisibility is required; it only picks the copy width (and float4 stores of C need
// N % 4 == 0 and a 16-byte aligned C).
//
// The decisions a reader would get wrong:
//  - pipeline: tiles t+1 .. t+3 are in flight while tile t is computed. A stage is refilled
//    (at k = 0 of tile t, the stage of tile t-1) only after the barrier that ends the reads of
//    tile t-1 (at its k = 7, where the fragments of tile t's k = 0 are read); that barrier
//    follows cp.async.wait_group(kStages - 2), so tile t's copies of every thread have landed.
//    One commit group per tile, empty past the last, keeps the wait count exact;
//  - 4 stages are 50176 bytes of dynamic shared memory, above the 48 KiB default: the launcher
//    opts in with cudaFuncSetAttribute once per instantiation and GPU;
//  - 221..242 registers per thread (128 accumulators, 2 x 24 fragment floats, the copies'
//    addresses) allow one block per multiprocessor. v6 runs its own kernel on every shape, so
//    every test shape tests it; a grid that split-K cannot fill (512 x 4096 x 32: 64 tiles,
//    4 k-tiles) may be faster on v5's 128 x 128 tiles, a per-shape choice for the default
//    dispatcher once measured. Matrices past 32-bit indexing run v3, as in v4/v5;
//  - split-K as in v5 (aimed at one block per multiprocessor, >= 8 k-tiles per split),
//    deterministic: fixed split order, no atomics; the split count depends on the GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_v6.cuh"
#include "kernels/cuda/gemm_v6_layout.h"
#include "kernels/cuda/versions.h"

namespace cudp::cuda::gemm_detail {
namespace {

using namespace gemm6;  // NOLINT: the tile constants and index math of gemm_v6_layout.h

struct GemmArgs6 {
  int M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;  // output, or the split-K partial buffer
  int m_tiles, n_tiles;
  int k_tiles_per_split;  // blockIdx.y = split: k tiles [y * this, (y + 1) * this)
  int split_stride;       // M * N: distance between two splits' partial outputs
};

// A is k-contiguous except in TN; B (seen as [N,K]) is k-contiguous only in NT.
template <GemmLayout L>
constexpr bool kAKContig = L != GemmLayout::TN;
template <GemmLayout L>
constexpr bool kBKContig = L == GemmLayout::NT;

// ------------------------------------------------------------ cp.async (PTX, sm_80+)
// src_bytes 0 zero-fills the destination without reading the source.
__device__ __forceinline__ void cp_async_4(float* dst, const float* src, bool in_bounds) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src),
               "r"(in_bounds ? 4 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_16(float* dst, const float* src, bool in_bounds) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src),
               "r"(in_bounds ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
// Waits until at most kPending of this thread's commit groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Issues this thread's copies of the (x0.., k0..) k-tile of one operand into stage s.
template <int BX, bool kKContig, bool kVec>
__device__ __forceinline__ void load_stage(float* s, const float* __restrict__ p, int X, int K,
                                           int x0, int k0, int tid) {
  constexpr int kWidth = kVec && !kKContig ? 4 : 1;
  static_assert(copies_per_thread(BX, kWidth) * kThreads * kWidth == BX * kBK,
                "the tile must split evenly over the threads");
#pragma unroll
  for (int it = 0; it < copies_per_thread(BX, kWidth); ++it) {
    const TileCoord c = copy_coord(BX, kKContig, kWidth, it, tid);
    const int gx = x0 + c.x, gk = k0 + c.k;
    const bool in_bounds = copy_in_bounds(gx, gk, X, K);
    const float* src = p + global_offset(kKContig, gx, gk, X, K);
    float* dst = s + smem_offset(BX, c.x, c.k);
    if constexpr (kWidth == 4)
      cp_async_16(dst, src, in_bounds);
    else
      cp_async_4(dst, src, in_bounds);
  }
}

// Row k of this thread's fragments: a = rows {4*lm .. +3, 32 + 4*lm .. +3} of its warp tile,
// b = columns {16*h + 4*ln .. +3, h < 4} (as thread_row / thread_col).
__device__ __forceinline__ void load_fragments(const float* as, const float* bs, int k, int row,
                                               int col, float (&a)[kThreadM],
                                               float (&b)[kThreadN]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float4 v = *reinterpret_cast<const float4*>(as + smem_offset(kBM, row + 32 * h, k));
    a[4 * h + 0] = v.x;
    a[4 * h + 1] = v.y;
    a[4 * h + 2] = v.z;
    a[4 * h + 3] = v.w;
  }
#pragma unroll
  for (int h = 0; h < 4; ++h) {
    const float4 v = *reinterpret_cast<const float4*>(bs + smem_offset(kBN, col + 16 * h, k));
    b[4 * h + 0] = v.x;
    b[4 * h + 1] = v.y;
    b[4 * h + 2] = v.z;
    b[4 * h + 3] = v.w;
  }
}

template <GemmLayout L, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(kThreads, 1) gemm_kernel6(GemmArgs6 g, bool vec_c) {
  extern __shared__ __align__(16) float smem6[];
  float* const As = smem6;                            // [kStages][kBK][kBM + kPad]
  float* const Bs = smem6 + kStages * kAStageFloats;  // [kStages][kBK][kBN + kPad]
  const int tid = threadIdx.x;
  const BlockTile tile = swizzle_tile(static_cast<int>(blockIdx.x), g.m_tiles, g.n_tiles);
  const int m0 = tile.m * kBM, n0 = tile.n * kBN;
  const int row = thread_row(tid, 0), col = thread_col(tid, 0);  // first fragment row / column
  const int k_tiles = (g.K + kBK - 1) / kBK;
  const int t_begin = static_cast<int>(blockIdx.y) * g.k_tiles_per_split;
  const int tiles = min(k_tiles, t_begin + g.k_tiles_per_split) - t_begin;  // may be <= 0
  float* const C = g.C + static_cast<size_t>(blockIdx.y) * g.split_stride;

  float acc[kThreadM][kThreadN];
#pragma unroll
  for (int i = 0; i < kThreadM; ++i)
#pragma unroll
    for (int j = 0; j < kThreadN; ++j) acc[i][j] = 0.0f;

  auto load_tile = [&](int stage, int t) {  // t counts from t_begin
    const int k0 = (t_begin + t) * kBK;
    load_stage<kBM, kAKContig<L>, kVecA>(As + stage * kAStageFloats, g.A, g.M, g.K, m0, k0, tid);
    load_stage<kBN, kBKContig<L>, kVecB>(Bs + stage * kBStageFloats, g.B, g.N, g.K, n0, k0, tid);
  };

  if (tiles > 0) {
    // Prologue: tiles 0 .. kStages - 2 in flight, one commit group each (empty past the end).
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      if (s < tiles) load_tile(s, s);
      cp_async_commit();
    }
    cp_async_wait<kStages - 2>();          // tile 0 has landed for this thread ...
    __syncthreads();                       // ... and for every thread
    float a[2][kThreadM], b[2][kThreadN];  // fragments: k in a[k & 1] while k + 1 loads
    load_fragments(As, Bs, 0, row, col, a[0], b[0]);
    int read_stage = 0, write_stage = kStages - 1;
    for (int t = 0; t < tiles; ++t) {
#pragma unroll
      for (int k = 0; k < kBK; ++k) {
        if (k == kBK - 1) {
          // Tile t + 1 (commit group t + 1 of the t + kStages committed so far) must be in
          // shared memory before its k = 0 fragments are read below; past this barrier no
          // thread reads tile t's stage again, so k = 0 of tile t + 1 may refill it.
          cp_async_wait<kStages - 2>();
          __syncthreads();
          read_stage = read_stage + 1 == kStages ? 0 : read_stage + 1;
        }
        const int next_k = (k + 1) % kBK;  // k = 7 reads k = 0 of the next tile
        load_fragments(As + read_stage * kAStageFloats, Bs + read_stage * kBStageFloats, next_k,
                       row, col, a[(k + 1) & 1], b[(k + 1) & 1]);
        if (k == 0) {
          // write_stage held tile t - 1, whose last reads preceded the barrier at its k = 7.
          if (t + kStages - 1 < tiles) load_tile(write_stage, t + kStages - 1);
          cp_async_commit();
          write_stage = write_stage + 1 == kStages ? 0 : write_stage + 1;
        }
#pragma unroll
        for (int i = 0; i < kThreadM; ++i)
#pragma unroll
          for (int j = 0; j < kThreadN; ++j) acc[i][j] = fmaf(a[k & 1][i], b[k & 1][j], acc[i][j]);
      }
    }
    cp_async_wait<0>();  // only empty groups remain; leave none behind at exit
  }

  // Epilogue: rows thread_row(tid, i), columns thread_col(tid, h) + 0..3; beta == 0 never
  // reads C.
#pragma unroll
  for (int i = 0; i < kThreadM; ++i) {
    const int gi = m0 + thread_row(tid, i);
    if (gi >= g.M) continue;
#pragma unroll
    for (int h = 0; h < kThreadN / 4; ++h) {
      const int gj = n0 + thread_col(tid, h);
      float* c = C + gi * g.N + gj;
      const float* v = &acc[i][4 * h];
      if (vec_c) {
        if (gj >= g.N) continue;  // N % 4 == 0: the 4 columns are all inside or all outside
        float4 out = make_float4(g.alpha * v[0], g.alpha * v[1], g.alpha * v[2], g.alpha * v[3]);
        if (g.beta != 0.0f) {
          const float4 old = *reinterpret_cast<const float4*>(c);
          out.x += g.beta * old.x;
          out.y += g.beta * old.y;
          out.z += g.beta * old.z;
          out.w += g.beta * old.w;
        }
        *reinterpret_cast<float4*>(c) = out;
      } else {
#pragma unroll
        for (int j = 0; j < 4; ++j)
          if (gj + j < g.N) c[j] = g.beta == 0.0f ? g.alpha * v[j] : g.alpha * v[j] + g.beta * c[j];
      }
    }
  }
}

// Launches one instantiation, first opting it in (once per GPU: the attribute is per device)
// to the dynamic shared memory above 48 KiB that kStages stages need.
template <GemmLayout L, bool kVecA, bool kVecB>
void launch_kernel6(int device, dim3 grid, cudaStream_t stream, const GemmArgs6& g, bool vec_c) {
  constexpr int kMaxDevices = 64;
  static std::once_flag opted_in[kMaxDevices];
  auto opt_in = [] {
    CUDP_CUDA_CHECK(cudaFuncSetAttribute(gemm_kernel6<L, kVecA, kVecB>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  };
  if (device >= 0 && device < kMaxDevices)
    std::call_once(opted_in[device], opt_in);
  else
    opt_in();
  gemm_kernel6<L, kVecA, kVecB><<<grid, kThreads, kSmemBytes, stream>>>(g, vec_c);
  CUDP_LAUNCH_CHECK("gemm_kernel6", stream);
}

// 16-byte copies only for an x-contiguous operand (k-contiguous ones transpose, 4 bytes each):
// NN and NT instantiate fewer kernels than TN.
template <GemmLayout L>
void launch_layout(int device, dim3 grid, cudaStream_t stream, const GemmArgs6& g, bool vec_a,
                   bool vec_b, bool vec_c) {
  if constexpr (kAKContig<L> && kBKContig<L>) {
    launch_kernel6<L, false, false>(device, grid, stream, g, vec_c);
  } else if constexpr (kAKContig<L>) {
    if (vec_b)
      launch_kernel6<L, false, true>(device, grid, stream, g, vec_c);
    else
      launch_kernel6<L, false, false>(device, grid, stream, g, vec_c);
  } else {
    if (vec_a && vec_b)
      launch_kernel6<L, true, true>(device, grid, stream, g, vec_c);
    else if (vec_a)
      launch_kernel6<L, true, false>(device, grid, stream, g, vec_c);
    else if (vec_b)
      launch_kernel6<L, false, true>(device, grid, stream, g, vec_c);
    else
      launch_kernel6<L, false, false>(device, grid, stream, g, vec_c);
  }
}

}  // namespace

void gemm_v6(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M, int64_t N,
             int64_t K, float alpha, const float* A, const float* B, float beta, float* C) {
  // 32-bit indexing, as v4/v5; the margin covers offsets computed just past the last tile.
  const int64_t kLimit = (int64_t{1} << 31) - (int64_t{1} << 20);
  if (M * K > kLimit || K * N > kLimit || M * N > kLimit)
    return gemm_version(3, ctx, layout, M, N, K, alpha, A, B, beta, C);
  const int device = ctx.device.index;
  const int64_t m_tiles = cuda_detail::ceil_div(M, kBM), n_tiles = cuda_detail::ceil_div(N, kBN);
  const int64_t tiles = m_tiles * n_tiles;
  const int64_t k_tiles = cuda_detail::ceil_div(K, kBK);
  const int64_t sms = cuda_detail::multiprocessor_count(device);
  // Split K until the grid gives every multiprocessor a block, each split >= 8 k-tiles deep
  // (the pipeline's prologue is 3 of them), the partial buffer inside 32-bit indexing.
  int64_t want = std::min<int64_t>(cuda_detail::ceil_div(sms, tiles), k_tiles / 8);
  while (want > 1 && want * M * N > kLimit) --want;
  int64_t splits = std::max<int64_t>(want, 1);
  const int64_t per_split = std::max<int64_t>(1, cuda_detail::ceil_div(k_tiles, splits));
  splits = std::max<int64_t>(1, cuda_detail::ceil_div(k_tiles, per_split));  // no empty split

  float* out = C;
  if (splits > 1)
    out = static_cast<float*>(cuda_detail::scratch(
        ctx, static_cast<size_t>(splits) * static_cast<size_t>(M * N) * sizeof(float)));
  // With splits the kernel writes raw sums (alpha 1, beta 0) and the reduction applies both.
  const GemmArgs6 g{static_cast<int>(M),
                    static_cast<int>(N),
                    static_cast<int>(K),
                    splits > 1 ? 1.0f : alpha,
                    splits > 1 ? 0.0f : beta,
                    A,
                    B,
                    out,
                    static_cast<int>(m_tiles),
                    static_cast<int>(n_tiles),
                    static_cast<int>(per_split),
                    static_cast<int>(M * N)};
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  const bool vec_c = N % 4 == 0 && cuda_detail::aligned16(out);
  // 16-byte copies of an x-contiguous operand: X % 4 == 0 keeps each chunk wholly inside or
  // outside the matrix and (with an aligned base) every chunk 16-byte aligned.
  const bool vec_a = M % 4 == 0 && cuda_detail::aligned16(A);
  const bool vec_b = N % 4 == 0 && cuda_detail::aligned16(B);
  switch (layout) {
    case GemmLayout::NN:
      launch_layout<GemmLayout::NN>(device, grid, stream, g, vec_a, vec_b, vec_c);
      break;
    case GemmLayout::NT:
      launch_layout<GemmLayout::NT>(device, grid, stream, g, vec_a, vec_b, vec_c);
      break;
    case GemmLayout::TN:
      launch_layout<GemmLayout::TN>(device, grid, stream, g, vec_a, vec_b, vec_c);
      break;
    default:
      fail("gemm: unknown layout ", static_cast<int>(layout));
  }
  if (splits > 1)
    gemm_split_reduce(ctx, stream, out, static_cast<int>(splits), M * N, alpha, beta, C);
}

}  // namespace cudp::cuda::gemm_detail
