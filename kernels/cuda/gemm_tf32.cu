// CUDA GEMM on tensor cores, the tf32 math mode (runtime/math.h; kernels/gemm.h for the
// op, kernels/tf32.h for the rounding). Same contract as the FP32 GEMM: row-major, NN /
// NT / TN, any M, N, K >= 0, beta == 0 never reads C, deterministic.
//
// Versions (gemm_tf32_version; ctx.math == tf32 runs the default, v1):
//   v1: mma.sync m16n8k8 .tf32, 128 x 128 x 16 block tiles, 8 warps of 64 x 32, a
//       3-stage cp.async pipeline into XOR-swizzled shared memory, ldmatrix for the
//       k-major operands, split-K (deterministic, as FP32 v5) when the output tiles
//       cannot fill the GPU. Unverified on silicon: compiled for sm_90 in CI, its index
//       math checked on the CPU (tests/kernels/mma_tf32_layout_test.cpp), never run.
//   v2: Hopper's wgmma.mma_async m64n128k8 from shared-memory descriptors, 128 x 128 x 32
//       tiles, operands packed K-major where they are not (kernels/cuda/gemm_tf32_wgmma.cu,
//       sm_90a only). Unverified on silicon, as v1.
//
// The decisions a reader would get wrong:
//  - each operand is rounded with cvt.rna.tf32.f32 (kernels/cuda/mma_tf32.cuh), never fed
//    raw: the CPU twin (kernels/cpu/tf32.cpp) rounds the same way and sums in FP32, and the
//    GPU tests bound the difference by kernels/tf32.h's error model;
//  - 16-byte copies need the operand's contiguous extent (K for a k-major operand, M or N
//    for an x-major one) to be a multiple of 4 and a 16-byte aligned base, so that a chunk
//    lies wholly inside or outside; otherwise that operand is copied 4 bytes at a time;
//  - coordinates are 32-bit, addresses 64-bit: M, N and K must each stay a tile below
//    2^31 (checked), the matrices themselves may be larger;
//  - 3 stages x (A + B) x 128 x 16 floats = 48 KiB of dynamic shared memory, the most a
//    block gets without opting in; registers (142-235 per thread by ptxas at sm_90, no
//    spills; capping them at 128 for 2 blocks spills) allow one block per multiprocessor,
//    so split-K aims at one block per multiprocessor;
//  - K == 0 gives C = beta * C whatever alpha is (alpha * 0 would be NaN for an infinite one).
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_tf32_wgmma.cuh"
#include "kernels/cuda/mma_tf32.cuh"
#include "kernels/cuda/split_reduce.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/gemm.h"

namespace cudp::cuda {
namespace {

using cuda_detail::ceil_div;
using mma_tf32::kBK;
using mma_tf32::kThreads;

constexpr int kMT = 4, kNT = 4;                 // m16 x n8 tiles per warp: 64 x 32
constexpr int kBM = 2 * 16 * kMT, kBN = 4 * 8 * kNT;  // 128 x 128
constexpr int kStages = 3;
constexpr int kTileA = kBM * kBK, kTileB = kBN * kBK;
constexpr size_t kSmemBytes = sizeof(float) * kStages * (kTileA + kTileB);
static_assert(kSmemBytes <= 48 * 1024, "over 48 KiB needs cudaFuncSetAttribute");

struct Tf32Args {
  int M, N, K;
  float alpha, beta;
  const float* A;
  const float* B;
  float* C;  // output, or the split-K partial buffer
  int n_tiles;
  int k_tiles_per_split;
  size_t split_stride;  // M * N
};

template <GemmLayout L>
constexpr bool kAK = L != GemmLayout::TN;  // A k-major (depth contiguous)
template <GemmLayout L>
constexpr bool kBKmaj = L == GemmLayout::NT;

// Queues the copies of tile (x0.., k0..) of an operand with X rows of op and depth K into
// the stage `s` (BX x 16, k-major or x-major as the operand lies in global memory).
template <bool kKMajor, bool kVec, int BX>
__device__ __forceinline__ void load_operand(float* s, const float* __restrict__ p, int X, int K,
                                             int x0, int k0, int tid) {
  using namespace mma_tf32;
  constexpr int kWidth = kVec ? 4 : 1;  // floats per copy
#pragma unroll
  for (int it = 0; it < BX * kBK / kWidth / kThreads; ++it) {
    const XK e = kVec ? (kKMajor ? kmajor_chunk(tid, it) : xmajor_chunk(BX, tid, it))
                      : (kKMajor ? kmajor_element(tid, it) : xmajor_element(BX, tid, it));
    const int gx = x0 + e.x, gk = k0 + e.k;
    const bool inside = operand_inside(X, K, gx, gk);
    const float* src = inside ? p + operand_offset(kKMajor, X, K, gx, gk) : p;
    float* dst = s + (kKMajor ? kmajor_offset(e.x, e.k) : xmajor_offset(BX, e.x, e.k));
    if constexpr (kVec)
      cuda_detail::cp_async16(dst, src, inside);
    else
      cuda_detail::cp_async4(dst, src, inside);
  }
}

template <GemmLayout L, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(kThreads) gemm_tf32_kernel1(Tf32Args g, bool vec_c) {
  extern __shared__ __align__(16) float smem[];
  float* const As = smem;
  float* const Bs = smem + kStages * kTileA;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int m0 = (blockIdx.x / g.n_tiles) * kBM, n0 = (blockIdx.x % g.n_tiles) * kBN;
  const int k_tiles = (g.K + kBK - 1) / kBK;
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int tiles = min(k_tiles, t_begin + g.k_tiles_per_split) - t_begin;

  auto load_stage = [&](int i) {  // tile t_begin + i into stage i % kStages
    const int k0 = (t_begin + i) * kBK, stage = i % kStages;
    load_operand<kAK<L>, kVecA, kBM>(As + stage * kTileA, g.A, g.M, g.K, m0, k0, tid);
    load_operand<kBKmaj<L>, kVecB, kBN>(Bs + stage * kTileB, g.B, g.N, g.K, n0, k0, tid);
  };

  float acc[kMT][kNT][4] = {};
  cuda_detail::cp_async_pipeline<kStages>(tiles, load_stage, [&](int stage) {
    cuda_detail::warp_mma_stage<kMT, kNT, kAK<L>, kBKmaj<L>, kBM, kBN>(
        As + stage * kTileA, Bs + stage * kTileB, warp, lane, acc);
  });

  float* const C = g.C + blockIdx.y * g.split_stride;
  const int wm = mma_tf32::warp_row0(warp, kMT), wn = mma_tf32::warp_col0(warp, kNT);
#pragma unroll
  for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
    for (int ni = 0; ni < kNT; ++ni)
#pragma unroll
      for (int h = 0; h < 2; ++h) {  // registers 2h, 2h + 1: one row, two adjacent columns
        const mma_tf32::Coord c = mma_tf32::c_fragment(lane, 2 * h);
        const int row = m0 + wm + 16 * mi + c.row, col = n0 + wn + 8 * ni + c.col;
        if (row >= g.M || col >= g.N) continue;
        float* out = C + static_cast<int64_t>(row) * g.N + col;
        const float v0 = g.alpha * acc[mi][ni][2 * h], v1 = g.alpha * acc[mi][ni][2 * h + 1];
        if (vec_c) {  // N even, C 8-byte aligned: col + 1 < N too
          float2 v = make_float2(v0, v1);
          if (g.beta != 0.0f) {
            const float2 old = *reinterpret_cast<const float2*>(out);
            v.x += g.beta * old.x;
            v.y += g.beta * old.y;
          }
          *reinterpret_cast<float2*>(out) = v;
        } else {
          out[0] = g.beta == 0.0f ? v0 : v0 + g.beta * out[0];
          if (col + 1 < g.N) out[1] = g.beta == 0.0f ? v1 : v1 + g.beta * out[1];
        }
      }
}

template <GemmLayout L>
void launch_layout(cudaStream_t stream, dim3 grid, const Tf32Args& g, bool vec_a, bool vec_b,
                   bool vec_c) {
  if (vec_a && vec_b)
    gemm_tf32_kernel1<L, true, true><<<grid, kThreads, kSmemBytes, stream>>>(g, vec_c);
  else if (vec_a)
    gemm_tf32_kernel1<L, true, false><<<grid, kThreads, kSmemBytes, stream>>>(g, vec_c);
  else if (vec_b)
    gemm_tf32_kernel1<L, false, true><<<grid, kThreads, kSmemBytes, stream>>>(g, vec_c);
  else
    gemm_tf32_kernel1<L, false, false><<<grid, kThreads, kSmemBytes, stream>>>(g, vec_c);
}

void launch_v1(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M, int64_t N,
               int64_t K, float alpha, const float* A, const float* B, float beta, float* C) {
  const int64_t kLimit = 0x7fffffff - 2 * kBM;
  if (M > kLimit || N > kLimit || K > kLimit)
    fail("gemm (cuda, tf32): v1 indexes rows, columns and depth in 32 bits, found M = ", M,
         ", N = ", N, ", K = ", K, " (each must be <= ", kLimit, ")");
  const int64_t m_tiles = ceil_div(M, kBM), n_tiles = ceil_div(N, kBN);
  if (m_tiles * n_tiles > 0x7fffffff)
    fail("gemm (cuda, tf32): ", M, " x ", N, " needs ", m_tiles * n_tiles,
         " tiles, more than a grid holds");
  const int64_t tiles = m_tiles * n_tiles;
  // Split K as FP32 v5 does, aiming at one block per multiprocessor (the registers allow
  // one), each split >= 4 k-tiles.
  const cuda_detail::SplitK split = cuda_detail::plan_split_k(
      ctx, tiles, static_cast<int>(ceil_div(K, kBK)), /*blocks_per_sm=*/1);
  const int splits = split.splits, per_split = split.tiles_per_split;
  float* out = C;
  if (splits > 1)
    out = static_cast<float*>(cuda_detail::scratch(
        ctx, static_cast<size_t>(splits) * static_cast<size_t>(M * N) * sizeof(float)));
  const Tf32Args g{static_cast<int>(M),
                   static_cast<int>(N),
                   static_cast<int>(K),
                   splits > 1 ? 1.0f : alpha,
                   splits > 1 ? 0.0f : beta,
                   A,
                   B,
                   out,
                   static_cast<int>(n_tiles),
                   per_split,
                   static_cast<size_t>(M * N)};
  const bool vec_c = N % 2 == 0 && (reinterpret_cast<uintptr_t>(out) & 7u) == 0;
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  const bool a_k = layout != GemmLayout::TN, b_k = layout == GemmLayout::NT;
  const bool vec_a = cuda_detail::aligned16(A) && (a_k ? K % 4 == 0 : M % 4 == 0);
  const bool vec_b = cuda_detail::aligned16(B) && (b_k ? K % 4 == 0 : N % 4 == 0);
  switch (layout) {
    case GemmLayout::NN:
      launch_layout<GemmLayout::NN>(stream, grid, g, vec_a, vec_b, vec_c);
      break;
    case GemmLayout::NT:
      launch_layout<GemmLayout::NT>(stream, grid, g, vec_a, vec_b, vec_c);
      break;
    case GemmLayout::TN:
      launch_layout<GemmLayout::TN>(stream, grid, g, vec_a, vec_b, vec_c);
      break;
  }
  CUDP_LAUNCH_CHECK("gemm_tf32_kernel1", stream);
  if (splits > 1) cuda_detail::reduce_splits(ctx, stream, out, splits, M * N, alpha, beta, C);
}

}  // namespace

int gemm_tf32_versions() { return 2; }
int gemm_tf32_default_version() { return 1; }

void gemm_tf32_version(int version, const Context& ctx, GemmLayout layout, int64_t M, int64_t N,
                       int64_t K, float alpha, const float* A, const float* B, float beta,
                       float* C) {
  if (version < 1 || version > gemm_tf32_versions())
    fail("gemm (cuda): tf32 version ", version, " does not exist (1..", gemm_tf32_versions(), ")");
  if (M < 0 || N < 0 || K < 0)
    fail("gemm: sizes must be >= 0, found M = ", M, ", N = ", N, ", K = ", K);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (M == 0 || N == 0) return;
  if (K == 0) alpha = 0.0f;  // C = beta * C, as kernels/gemm.h says, even for alpha = Inf
  if (version == 2) return gemm_tf32_wgmma(ctx, stream, layout, M, N, K, alpha, A, B, beta, C);
  launch_v1(ctx, stream, layout, M, N, K, alpha, A, B, beta, C);
}

}  // namespace cudp::cuda
