// Index math of CUDA conv2d v3 (kernels/cuda/conv2d_v3.cu), kept apart so that a plain C++
// test (tests/kernels/conv2d_v3_layout_test.cpp, no GPU, no nvcc) checks the very functions
// the kernel runs: which thread copies which element of a k-tile into which shared-memory
// slot, the bank of every such store and fragment read, and which thread owns which output.
//
// Layout conventions: the conv pass is a GEMM (conv2d.cu's file comment) of M rows, N columns
// and depth K; an operand tile is bx elements (rows of A or columns of B) by kBK depths,
// element (x, k). Every stage of shared memory holds one operand's tile as [k][x] with a row
// pitch of bx + kPad floats, so the compute loop reads float4 fragments along x.
//
// The decisions a reader would get wrong:
//  - the block tile is 64 x 256, not 128 x 128: the goal's shape (and every seed-pool conv)
//    has 64 GEMM rows (K or C output channels), which a 128-row tile would half waste;
//  - both loaders give a thread ONE depth per k-tile and bx / 32 elements along x, so the
//    depth part (two divisions) is decoded once per thread and tile. "Depth-fast" (A always,
//    B of backward-weight): 8 lanes take 8 consecutive depths of one x (32 contiguous bytes
//    where the depth runs along memory); "column-fast" (B of forward and backward-data): a
//    warp takes 32 consecutive columns (consecutive q or w) at the depth of its warp index;
//  - kPad = 4 makes the pitch 4 (mod 32) banks: the depth-fast stores of a warp (4 x, 8 k)
//    land in 32 distinct banks, the column-fast ones (32 x, one k) trivially, and every row
//    stays 16-byte aligned for the float4 fragment reads.
#pragma once

#if defined(__CUDACC__)
#define CUDP_CONV3_HD __host__ __device__ __forceinline__
#else
#define CUDP_CONV3_HD inline
#endif

namespace cudp::cuda::conv3 {

constexpr int kBM = 64, kBN = 256, kBK = 8;  // block tile: 64 rows, 256 columns, 8 deep
constexpr int kThreads = 256;                // 8 warps side by side along N, warp tile 64 x 32
constexpr int kWarpN = 32;
constexpr int kStages = 4;                   // cp.async pipeline depth (k-tiles in shared memory)
constexpr int kPad = 4;                      // floats of padding per [k][x] row
constexpr int kThreadM = 8, kThreadN = 8;    // outputs per thread
constexpr int kAPer = kBM * kBK / kThreads;  // 2 copies of A per thread and tile
constexpr int kBPer = kBN * kBK / kThreads;  // 8 copies of B

constexpr int kAStageFloats = kBK * (kBM + kPad);
constexpr int kBStageFloats = kBK * (kBN + kPad);
constexpr int kSmemBytes = kStages * (kAStageFloats + kBStageFloats) * 4;

static_assert(kThreads / 32 * kWarpN == kBN, "one warp per 32 columns");
static_assert(kBM * kWarpN == 32 * kThreadM * kThreadN, "a warp tile splits over 32 lanes");
static_assert(kThreads % kBK == 0 && kThreads / 32 == kBK, "one depth per thread and tile");

struct TileCoord {
  int x, k;  // element (x, k) of a k-tile: x in [0, bx), k in [0, kBK)
};

// The it-th copy (it < bx / 32) of thread tid when consecutive depths are contiguous in memory:
// x = 32 * it + tid / 8, k = tid % 8 (k does not depend on it).
CUDP_CONV3_HD constexpr TileCoord depth_fast_coord(int it, int tid) {
  return TileCoord{32 * it + tid / kBK, tid % kBK};
}
// The it-th copy when consecutive x are contiguous: x = 32 * it + lane, k = warp.
CUDP_CONV3_HD constexpr TileCoord column_fast_coord(int it, int tid) {
  return TileCoord{32 * it + tid % 32, tid / 32};
}

// Float offset of tile element (x, k) in a [k][x] stage of width bx.
CUDP_CONV3_HD constexpr int smem_offset(int bx, int x, int k) { return k * (bx + kPad) + x; }

// Thread tid's outputs: rows thread_row(tid, i), i < 8, and for h < 2 the 4 consecutive
// columns from thread_col(tid, h). In a warp, lane = 4 * lm + ln (lm < 8, ln < 4): rows
// 4*lm .. +3 and 32 + 4*lm .. +3, columns warp*32 + 16*h + 4*ln .. +3. A quarter-warp (8 lanes)
// then reads 2 distinct A float4s and 4 distinct B float4s per k, in distinct banks.
CUDP_CONV3_HD constexpr int thread_row(int tid, int i) {
  const int lm = (tid % 32) / 4;
  return i < 4 ? 4 * lm + i : 32 + 4 * lm + (i - 4);
}
CUDP_CONV3_HD constexpr int thread_col(int tid, int h) {
  return (tid / 32) * kWarpN + 16 * h + 4 * (tid % 4);
}

}  // namespace cudp::cuda::conv3
