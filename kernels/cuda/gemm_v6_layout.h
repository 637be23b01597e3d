// Index math of CUDA GEMM v6 (kernels/cuda/gemm_v6.cu), kept apart so that a plain C++ test
// (tests/kernels/gemm_v6_layout_test.cpp, no GPU, no nvcc) checks the very functions the kernel
// runs: which thread copies which element of a k-tile into which shared-memory slot, which
// copies zero-fill, the threadblock swizzle, and which thread writes which output.
//
// Layout conventions (as in gemm.cu): an operand is a matrix of (x, k) elements, x a row of
// op(A) or a column of op(B); "k-contiguous" when (x, k) lives at x * K + k, "x-contiguous"
// when it lives at k * X + x. A stage of shared memory holds one operand's k-tile as [k][x]
// with a row pitch of BX + kPad6 floats.
//
// The decisions a reader would get wrong:
//  - a 16-byte copy (4 consecutive x) exists only for x-contiguous operands with X % 4 == 0:
//    then a chunk lies wholly inside or wholly outside [0, X), so one bounds test decides it;
//  - kPad6 = 4 makes the row pitch 4 (mod 32) banks: the 4-byte transposing copies of a
//    k-contiguous operand (8 consecutive k per x) land in 32 distinct banks, and every row
//    stays 16-byte aligned for the float4 fragment reads and the 16-byte copies.
#pragma once

#if defined(__CUDACC__)
#define CUDP_GEMM6_HD __host__ __device__ __forceinline__
#else
#define CUDP_GEMM6_HD inline
#endif

namespace cudp::cuda::gemm6 {

constexpr int kBM = 128, kBN = 256, kBK = 8;  // block tile: 128 rows of C, 256 columns, 8 deep
constexpr int kThreads = 256;                 // 8 warps as 2 (M) x 4 (N), warp tile 64 x 64
constexpr int kWarpM = 64, kWarpN = 64, kWarpsN = kBN / kWarpN;
constexpr int kStages = 4;       // cp.async pipeline depth (k-tiles in shared memory)
constexpr int kPad = 4;          // floats of padding per [k][x] row (see the file comment)
constexpr int kSwizzleRows = 8;  // m tiles per swizzle group (see swizzle_tile)
constexpr int kThreadM = 8, kThreadN = 16;  // outputs per thread

constexpr int kAStageFloats = kBK * (kBM + kPad);
constexpr int kBStageFloats = kBK * (kBN + kPad);
constexpr int kSmemBytes = kStages * (kAStageFloats + kBStageFloats) * 4;

static_assert(kThreads / 32 == (kBM / kWarpM) * (kBN / kWarpN), "one warp per warp tile");
static_assert(kWarpM * kWarpN == 32 * kThreadM * kThreadN, "a warp tile splits over 32 lanes");

// Copies per thread per stage for a tile kBK deep and bx wide, `width` floats per copy.
CUDP_GEMM6_HD constexpr int copies_per_thread(int bx, int width) {
  return bx * kBK / (kThreads * width);
}

struct TileCoord {
  int x, k;  // element (x, k) of the k-tile: x in [0, bx), k in [0, kBK)
};

// The it-th copy of thread tid. Consecutive threads take consecutive global addresses: along k
// when the operand is k-contiguous (width 1: 8 threads read one x's 32 contiguous bytes), along
// x otherwise (width 1 or 4).
CUDP_GEMM6_HD constexpr TileCoord copy_coord(int bx, bool k_contig, int width, int it, int tid) {
  const int e = it * kThreads + tid;  // copy index in the tile
  if (k_contig) return TileCoord{e / kBK, e % kBK};
  return TileCoord{(e % (bx / width)) * width, e / (bx / width)};
}

// Float offset of tile element (x, k) in a [k][x] stage.
CUDP_GEMM6_HD constexpr int smem_offset(int bx, int x, int k) { return k * (bx + kPad) + x; }

// Whether the copy of global element (gx, gk) (the first of `width`) reads anything; otherwise
// cp.async gets src-size 0 and writes zeros. For width 4, X % 4 == 0 is the caller's promise.
CUDP_GEMM6_HD constexpr bool copy_in_bounds(int gx, int gk, int X, int K) {
  return gx < X && gk < K;
}

// Float offset of global element (gx, gk); 0 for an element out of bounds, so that no
// out-of-range product is formed (it could overflow 32 bits) and the address stays valid.
CUDP_GEMM6_HD constexpr int global_offset(bool k_contig, int gx, int gk, int X, int K) {
  return !copy_in_bounds(gx, gk, X, K) ? 0 : (k_contig ? gx * K + gk : gk * X + gx);
}

// Threadblock swizzle: block b of the 1-D grid -> (m tile, n tile). Groups of kSwizzleRows
// m tiles are walked column by column (m fastest inside a group), so the blocks resident at
// once share a few A panels and a few B panels in L2 instead of one A panel and every B
// panel. The last group may hold fewer rows; the map stays a bijection onto the tiles.
struct BlockTile {
  int m, n;
};
CUDP_GEMM6_HD constexpr BlockTile swizzle_tile(int b, int m_tiles, int n_tiles) {
  const int group_blocks = kSwizzleRows * n_tiles;
  const int first_m = (b / group_blocks) * kSwizzleRows;
  const int rows = m_tiles - first_m < kSwizzleRows ? m_tiles - first_m : kSwizzleRows;
  const int local = b % group_blocks;
  return BlockTile{first_m + local % rows, local / rows};
}

// Thread tid's outputs: rows r(i), i < 8, and for h < 4 the 4 consecutive columns from c(h).
// In a warp, lane = 4 * lm + ln (lm < 8, ln < 4); its rows are 4*lm .. +3 and 32 + 4*lm .. +3
// of the warp tile, its columns 16*h + 4*ln .. +3: the float4 fragments that lanes read in one
// instruction are contiguous (A) or broadcast (B), without bank conflicts.
CUDP_GEMM6_HD constexpr int thread_row(int tid, int i) {
  const int warp_m = (tid / 32) / kWarpsN, lm = (tid % 32) / 4;
  return warp_m * kWarpM + (i < 4 ? 4 * lm + i : 32 + 4 * lm + (i - 4));
}
CUDP_GEMM6_HD constexpr int thread_col(int tid, int h) {
  const int warp_n = (tid / 32) % kWarpsN, ln = (tid % 32) % 4;
  return warp_n * kWarpN + 16 * h + 4 * ln;
}

}  // namespace cudp::cuda::gemm6
