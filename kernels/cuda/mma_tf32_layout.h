// The index math of the tf32 tensor-core kernels (gemm_tf32.cu, conv2d_tf32.cu), in
// plain functions that a CPU test (tests/kernels/mma_tf32_layout_test.cpp) runs too.
//
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, one warp, lane = 4 * g + t
// (g = lane / 4 the "group", t = lane % 4), register i of each fragment holding:
//   A (16 x 8, row)  a_i = A[g + 8 * (i % 2)][t + 4 * (i / 2)]      i = 0..3
//   B (8 x 8, col)   b_i = B[t + 4 * i][g]                          i = 0..1
//   C (16 x 8)       c_i = C[g + 8 * (i / 2)][2 * t + i % 2]        i = 0..3
//
// Shared-memory tiles hold BK = 16 depth indices of BX rows (A) or columns (B). An
// operand is stored the way global memory holds it, so that cp.async copies 16-byte
// chunks unchanged:
//   k-major [x][16]  (depth contiguous: A in NN/NT, B in NT; conv operands read along
//                    the depth): chunk c = k / 4 of row x sits at chunk c ^ ((x / 2) % 4);
//   x-major [16][BX] (x contiguous: A in TN, B in NN/TN; conv operands read along a
//                    row or column): chunk c = x / 4 of row k sits at c ^ 2 * (k % 4).
// Both XOR swizzles keep a 16-byte chunk whole (ldmatrix and cp.async move chunks) and
// make the fragment reads and the chunk stores free of bank conflicts; the CPU test
// counts the banks of every access of a warp.
//
// ldmatrix.x4 on a k-major tile loads a whole A fragment (or the B fragments of two n8
// tiles) in one instruction: lane l names row l % 8 of matrix l / 8, and register j of
// lane l receives 32-bit word l % 4 of row l / 4 of matrix j. An x-major tile would need
// a transposed 32-bit load, which ldmatrix (16-bit .trans) has not, so those fragments
// are read with one 32-bit load per register.
#pragma once

#if defined(__CUDACC__)
#define CUDP_MMA_HD __host__ __device__ __forceinline__
#else
#define CUDP_MMA_HD inline
#endif

namespace cudp::mma_tf32 {

constexpr int kBK = 16;  // depth of a shared-memory tile: two k8 steps

struct Coord {  // a fragment register's element: (row, column) of A, C; (k, n) of B
  int row, col;
};
struct XK {  // an operand element: x a row of A or a column of B, k the depth
  int x, k;
};

CUDP_MMA_HD Coord a_fragment(int lane, int i) {
  return {lane / 4 + 8 * (i % 2), lane % 4 + 4 * (i / 2)};
}
// (k, n) of register i
CUDP_MMA_HD Coord b_fragment(int lane, int i) { return {lane % 4 + 4 * i, lane / 4}; }
CUDP_MMA_HD Coord c_fragment(int lane, int i) {
  return {lane / 4 + 8 * (i / 2), 2 * (lane % 4) + i % 2};
}

// Float offset of element (x, k) in a k-major [x][16] tile.
CUDP_MMA_HD int kmajor_offset(int x, int k) {
  return x * kBK + (((k / 4) ^ ((x / 2) % 4)) * 4) + k % 4;
}
// Float offset of element (x, k) in an x-major [16][bx] tile (bx a multiple of 32).
CUDP_MMA_HD int xmajor_offset(int bx, int x, int k) {
  return k * bx + (((x / 4) ^ (2 * (k % 4))) * 4) + x % 4;
}

// ldmatrix.x4 row address of `lane` when the four matrices are A's 16 x 8 fragment at
// (x0, k0) of a k-major tile: matrix j covers rows x0 + 8 * (j % 2), depths k0 + 4 * (j / 2).
CUDP_MMA_HD XK ldmatrix_a_row(int lane, int x0, int k0) {
  const int j = lane / 8, r = lane % 8;
  return {x0 + r + 8 * (j % 2), k0 + 4 * (j / 2)};
}
// ... and when they are the B fragments of n8 tiles x0 and x0 + 8: matrix j covers
// columns x0 + 8 * (j / 2), depths k0 + 4 * (j % 2) (registers b0, b1 of tile 0, then of 1).
CUDP_MMA_HD XK ldmatrix_b_row(int lane, int x0, int k0) {
  const int j = lane / 8, r = lane % 8;
  return {x0 + r + 8 * (j / 2), k0 + 4 * (j % 2)};
}

// Block tiles: BM x BN outputs, 8 warps as 2 (rows) x 4 (columns), each warp MT m16 tiles
// by NT n8 tiles: BM = 2 * 16 * MT, BN = 4 * 8 * NT.
constexpr int kThreads = 256;
CUDP_MMA_HD int warp_row0(int warp, int mt) { return (warp / 4) * 16 * mt; }
CUDP_MMA_HD int warp_col0(int warp, int nt) { return (warp % 4) * 8 * nt; }

// The tile loaders: copy `it` of thread `tid` moves element(s) starting at (x, k).
// 16-byte copies of a k-major tile: chunk v = it * 256 + tid is row v / 4, depth 4 * (v % 4).
CUDP_MMA_HD XK kmajor_chunk(int tid, int it) {
  const int v = it * kThreads + tid;
  return {v / 4, 4 * (v % 4)};
}
// 16-byte copies of an x-major tile of bx: chunk v is depth v / (bx / 4), x 4 * (v % (bx / 4)).
CUDP_MMA_HD XK xmajor_chunk(int bx, int tid, int it) {
  const int v = it * kThreads + tid;
  return {4 * (v % (bx / 4)), v / (bx / 4)};
}
// 4-byte copies (an operand whose 16-byte chunks may straddle its edge or be misaligned,
// and every gathered conv operand): consecutive threads along the contiguous direction.
CUDP_MMA_HD XK kmajor_element(int tid, int it) {
  const int e = it * kThreads + tid;
  return {e / kBK, e % kBK};
}
CUDP_MMA_HD XK xmajor_element(int bx, int tid, int it) {
  const int e = it * kThreads + tid;
  return {e % bx, e / bx};
}

// The global element a GEMM tile copy reads: element (x, k) of an operand with X rows of op
// and depth K, at x * K + k (k-major) or k * X + x (x-major); a copy is made only where
// operand_inside, else it zero-fills. For a 16-byte copy (x, k) is its first element: the
// launcher allows those only when the contiguous extent is a multiple of 4, so that the
// chunk lies wholly inside or outside.
CUDP_MMA_HD bool operand_inside(int X, int K, int x, int k) { return x < X && k < K; }
CUDP_MMA_HD long long operand_offset(bool k_major, int X, int K, int x, int k) {
  return k_major ? static_cast<long long>(x) * K + k : static_cast<long long>(k) * X + x;
}

// ---------------------------------------------------------------- wgmma (gemm_tf32 v2)
// wgmma.mma_async m64nNk8 .tf32 reads both operands from shared memory through a matrix
// descriptor, and for tf32 both must be K-major. The tile uses the canonical layout
// without swizzle: "core matrices" of 8 rows x 16 bytes (4 tf32 along k), each 128
// contiguous bytes (row r at 16 r), the core matrix (i along x, j along k) of a tile
// kWgBK deep at byte (i * (kWgBK / 4) + j) * 128. Per the PTX ISA, for a K-major operand
// the descriptor's leading-dimension byte offset (LBO) is the distance between core
// matrices adjacent in k, the stride-dimension byte offset (SBO) between those adjacent
// in x: here LBO = 128, SBO = (kWgBK / 4) * 128.
namespace wgmma {

constexpr int kBM = 128, kBN = 128, kBK = 32;  // two warpgroups of m64 x n128
constexpr int kThreads = 256;
constexpr int kLBO = 128, kSBO = (kBK / 4) * 128;

// Byte offset of element (x, k) in a K-major tile kBK deep.
CUDP_MMA_HD int tile_byte_offset(int x, int k) {
  return ((x / 8) * (kBK / 4) + k / 4) * 128 + (x % 8) * 16 + (k % 4) * 4;
}

// The 64-bit shared-memory matrix descriptor: start address, LBO and SBO in 16-byte units in
// bits 0-13, 16-29 and 32-45; base offset (bits 49-51) and swizzle mode (62-63) 0.
CUDP_MMA_HD unsigned long long descriptor_bits(unsigned start, unsigned lbo, unsigned sbo) {
  return (static_cast<unsigned long long>((start >> 4) & 0x3fffu)) |
         (static_cast<unsigned long long>((lbo >> 4) & 0x3fffu) << 16) |
         (static_cast<unsigned long long>((sbo >> 4) & 0x3fffu) << 32);
}

// The byte the tensor core reads for element (x, k) of the 8-deep operand a descriptor
// with start address `start` describes (the PTX ISA's canonical K-major layout, no swizzle).
CUDP_MMA_HD int descriptor_read_offset(int start, int lbo, int sbo, int x, int k) {
  return start + (x / 8) * sbo + (k / 4) * lbo + (x % 8) * 16 + (k % 4) * 4;
}

// The 16-byte copy `it` of thread `tid` (kBM == kBN rows of kBK): row x, depth 4 c. Eight
// consecutive threads take the eight rows of one core matrix (128 contiguous bytes of
// shared memory, conflict-free), a warp four chunks of each of eight rows (64 contiguous
// bytes of each global row).
CUDP_MMA_HD XK chunk(int tid, int it) {
  const int v = it * kThreads + tid;
  return {(v & 7) | ((v >> 6) << 3), 4 * ((v >> 3) & 7)};
}
constexpr int kChunksPerThread = kBM * kBK / 4 / kThreads;  // 4 per operand

// Register i (0 .. 63) of thread tid's m64n128 accumulator, as (row, column) of the block:
// warpgroup tid / 128 owns rows 64 * (tid / 128) ..; in it, warp w owns 16 rows and, per
// n8 column block j = i / 4, lane holds C[16 w + g + 8 (i % 4 / 2)][8 j + 2 t + i % 2].
CUDP_MMA_HD Coord accumulator(int tid, int i) {
  const int wg = tid / 128, w = (tid % 128) / 32, lane = tid % 32;
  return {64 * wg + 16 * w + lane / 4 + 8 * ((i % 4) / 2), 8 * (i / 4) + 2 * (lane % 4) + i % 2};
}

}  // namespace wgmma

}  // namespace cudp::mma_tf32
