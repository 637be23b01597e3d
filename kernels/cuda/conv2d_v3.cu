// CUDA conv2d v3 (conv2d.cu has the op, the three passes as GEMMs and versions 1..2): v2's
// implicit GEMM by the means of GEMM v6. 64 x 256 x 8 block tiles, 8 warps of 64 x 32, 8 x 8
// outputs per thread, a 4-stage pipeline of 4-byte cp.async gathers (zero-filled outside the
// image and past the GEMM's edges), register fragments double-buffered across k, float4
// stores of the output where its runs allow; backward-weight splits its N*P*Q depth over the
// grid and adds the splits in a second, deterministic pass. Unverified on silicon: checked
// with ptxas and the CPU layout test (kernels/cuda/conv2d_v3_layout.h) only.
//
// The decisions a reader would get wrong:
//  - pipeline (as conv2d_tf32.cu): tiles i+1 .. i+3 are in flight while tile i is computed.
//    At iteration i, cp.async.wait_group(kStages - 2) lands tile i for this thread, and the
//    barrier after it for every thread; past that barrier no thread reads stage (i-1) %
//    kStages again, so the copies of tile i + 3, issued next, may refill it. One commit group
//    per tile, empty past the last, keeps the wait count exact;
//  - every copy is 4 bytes: the gathered addresses are not 16-byte runs. The filters of the
//    forward pass are contiguous along C*R*S, but a 16-byte copy needs them stored [x][k],
//    which would turn the float4 fragment reads of A into scalar ones; not done (no
//    measurement to decide it);
//  - the row and column parts are decoded once per block into shared memory (as v2); each
//    thread decodes its one depth per tile in registers (conv2d_v3_layout.h's loaders);
//  - no alignment is required: float4 stores only when the output's contiguous runs (P*Q,
//    H*W or C*R*S) are multiples of 4 and the output 16-byte aligned;
//  - indices are 32-bit as in v2: the GEMM extents must leave a tile of headroom below
//    INT32_MAX (checked with a clear error); the split-K scratch must fit 2^31 floats.
#include "kernels/cuda/conv2d_v3.cuh"

#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_v3_layout.h"
#include "kernels/cuda/mma_tf32.cuh"
#include "kernels/cuda/split_reduce.cuh"

namespace cudp::cuda::conv2d_v3 {
namespace {

using namespace conv2d_igemm;
using namespace conv3;  // NOLINT: the tile constants and index math of conv2d_v3_layout.h
using cuda_detail::ceil_div;

static_assert(kSmemBytes + sizeof(Part) * (kBM + kBN) <= 48 * 1024, "static shared memory");
static_assert(kBN == kThreads && kBM <= kThreads, "one thread per row and column part");

struct ConvArgs3 {
  ConvDims d;
  const float* a;
  const float* b;
  float* c;  // output, or the partial-sum scratch when splits > 1
  Geometry b_geometry;
  int M, N, K;            // GEMM rows, columns, depth
  int n_tiles;            // column tiles: block x covers row tile x / n_tiles
  int k_tiles_per_split;  // blockIdx.y = split
  int split_stride;       // M * N: distance between two splits' partial outputs
  bool vec_c;             // float4 output stores (see the launcher)
};

// Row k of this thread's fragments: a = rows row .. +3 and row + 32 .. +3, b = columns col .. +3
// and col + 16 .. +3 (thread_row / thread_col).
__device__ __forceinline__ void load_fragments(const float* as, const float* bs, int k, int row,
                                               int col, float (&a)[kThreadM],
                                               float (&b)[kThreadN]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float4 u = *reinterpret_cast<const float4*>(as + smem_offset(kBM, row + 32 * h, k));
    const float4 v = *reinterpret_cast<const float4*>(bs + smem_offset(kBN, col + 16 * h, k));
    a[4 * h + 0] = u.x, a[4 * h + 1] = u.y, a[4 * h + 2] = u.z, a[4 * h + 3] = u.w;
    b[4 * h + 0] = v.x, b[4 * h + 1] = v.y, b[4 * h + 2] = v.z, b[4 * h + 3] = v.w;
  }
}

template <Pass kPass, bool kStrided>
__global__ void __launch_bounds__(kThreads, 2) conv2d_igemm_kernel3(ConvArgs3 g) {
  using P = Parts<kPass>;
  __shared__ __align__(16) float As[kStages * kAStageFloats];
  __shared__ __align__(16) float Bs[kStages * kBStageFloats];
  __shared__ Part a_rows[kBM], b_cols[kBN];  // decoded once per block

  const int tid = threadIdx.x;
  const int m0 = (blockIdx.x / g.n_tiles) * kBM, n0 = (blockIdx.x % g.n_tiles) * kBN;
  const int k_tiles = (g.K + kBK - 1) / kBK;  // cannot overflow: check_igemm_extents
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int tiles = min(k_tiles, t_begin + g.k_tiles_per_split) - t_begin;
  const Part invalid{0, kInvalid, kInvalid};
  const Geometry a_geometry{0, 1, 1};

  if (tid < kBM) a_rows[tid] = m0 + tid < g.M ? P::a_row(g.d, m0 + tid) : invalid;
  b_cols[tid] = n0 + tid < g.N ? P::b_col(g.d, n0 + tid) : invalid;  // kBN == kThreads
  __syncthreads();

  // Tile t_begin + i into stage i % kStages; each loader gives this thread one depth.
  auto load_stage = [&](int i) {
    const int k0 = (t_begin + i) * kBK, stage = i % kStages;
    float* const as = As + stage * kAStageFloats;
    float* const bs = Bs + stage * kBStageFloats;
    {  // A is read along its depth in every pass (filters, or dy for backward-weight)
      const int kk = k0 + depth_fast_coord(0, tid).k;
      const Part ad = kk < g.K ? P::a_depth(g.d, kk) : invalid;
#pragma unroll
      for (int it = 0; it < kAPer; ++it) {
        const TileCoord e = depth_fast_coord(it, tid);
        const int off = gather_offset<false>(a_geometry, g.d.div_stride, a_rows[e.x], ad);
        cuda_detail::cp_async4(as + smem_offset(kBM, e.x, e.k), g.a + max(off, 0), off >= 0);
      }
    }
    auto coord = [](int it, int t) {  // B of backward-weight runs along q with its depth
      return P::kBDepthFast ? depth_fast_coord(it, t) : column_fast_coord(it, t);
    };
    const int kk = k0 + coord(0, tid).k;
    const Part bd = kk < g.K ? P::b_depth(g.d, kk) : invalid;
#pragma unroll
    for (int it = 0; it < kBPer; ++it) {
      const TileCoord e = coord(it, tid);
      const int off = gather_offset<kStrided>(g.b_geometry, g.d.div_stride, b_cols[e.x], bd);
      cuda_detail::cp_async4(bs + smem_offset(kBN, e.x, e.k), g.b + max(off, 0), off >= 0);
    }
  };

  float acc[kThreadM][kThreadN];
#pragma unroll
  for (int i = 0; i < kThreadM; ++i)
#pragma unroll
    for (int j = 0; j < kThreadN; ++j) acc[i][j] = 0.0f;

  const int row = thread_row(tid, 0), col = thread_col(tid, 0);
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < tiles) load_stage(i);
    cuda_detail::cp_async_commit();
  }
  for (int i = 0; i < tiles; ++i) {
    // Groups 0 .. i of the kStages - 1 + i committed so far are complete: tile i has landed.
    cuda_detail::cp_async_wait<kStages - 2>();
    __syncthreads();
    if (i + kStages - 1 < tiles) load_stage(i + kStages - 1);  // refills stage (i - 1) % kStages
    cuda_detail::cp_async_commit();
    const float* const as = As + (i % kStages) * kAStageFloats;
    const float* const bs = Bs + (i % kStages) * kBStageFloats;
    float a[2][kThreadM], b[2][kThreadN];  // depth k in [k & 1] while k + 1 loads
    load_fragments(as, bs, 0, row, col, a[0], b[0]);
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      if (k + 1 < kBK) load_fragments(as, bs, k + 1, row, col, a[(k + 1) & 1], b[(k + 1) & 1]);
#pragma unroll
      for (int m = 0; m < kThreadM; ++m)
#pragma unroll
        for (int j = 0; j < kThreadN; ++j) acc[m][j] = fmaf(a[k & 1][m], b[k & 1][j], acc[m][j]);
    }
  }
  cuda_detail::cp_async_wait<0>();  // only empty groups remain; leave none behind at exit

  // Epilogue: column groups thread_col(tid, h) + 0..3; with vec_c the 4 columns of a group
  // are one contiguous, 16-byte aligned run, wholly inside or outside the output.
  float* const out = g.c + static_cast<size_t>(blockIdx.y) * g.split_stride;
  int col_offset[kThreadN];
#pragma unroll
  for (int j = 0; j < kThreadN; ++j) {
    const int cj = n0 + thread_col(tid, j / 4) + j % 4;
    col_offset[j] = cj < g.N ? P::c_col(g.d, cj) : -1;
  }
#pragma unroll
  for (int m = 0; m < kThreadM; ++m) {
    const int r = m0 + thread_row(tid, m);
    if (r >= g.M) continue;
    float* const out_row = out + P::c_row(g.d, r);
#pragma unroll
    for (int h = 0; h < kThreadN / 4; ++h) {
      if (g.vec_c) {
        if (col_offset[4 * h] >= 0)
          *reinterpret_cast<float4*>(out_row + col_offset[4 * h]) =
              make_float4(acc[m][4 * h], acc[m][4 * h + 1], acc[m][4 * h + 2], acc[m][4 * h + 3]);
      } else {
#pragma unroll
        for (int j = 4 * h; j < 4 * h + 4; ++j)
          if (col_offset[j] >= 0) out_row[col_offset[j]] = acc[m][j];
      }
    }
  }
}

// `run`: length of the output's contiguous column runs (P*Q, H*W, or C*R*S for
// backward-weight), each starting at a multiple of it; the row pitch is the same multiple.
template <Pass kPass>
void launch(const Context& ctx, const ConvDims& d, int M, int N, int K, const float* a,
            const float* b, float* c, int run, bool splits_allowed, const char* where) {
  // Before begin_op: a refused call touches no GPU state.
  check_igemm_extents(d, M, N, K, std::max({kBM, kBN, kBK}), "v3",
                      "use version 1 or a smaller batch", where);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  const int64_t m_tiles = ceil_div(M, kBM), n_tiles = ceil_div(N, kBN);
  if (m_tiles * n_tiles > 0x7fffffff) fail(where, ": too many tiles (", m_tiles * n_tiles, ")");
  const int tiles = static_cast<int>(m_tiles * n_tiles);
  const int k_tiles = static_cast<int>(ceil_div(K, kBK));
  // Aim at ~2 blocks per multiprocessor, each split >= 8 k-tiles deep (the pipeline's
  // prologue is 3 of them), a partial buffer inside 32-bit indexing.
  const cuda_detail::SplitK split =
      splits_allowed ? cuda_detail::plan_split_k(ctx, tiles, k_tiles, 2, 8, int64_t{M} * N)
                     : cuda_detail::SplitK{1, k_tiles};
  const int splits = split.splits, per_split = split.tiles_per_split;
  float* out = c;
  const int64_t count = static_cast<int64_t>(M) * N;
  if (splits > 1)
    out = static_cast<float*>(
        cuda_detail::scratch(ctx, static_cast<size_t>(splits) * count * sizeof(float)));
  // A float4 of columns 4j .. 4j+3 is contiguous and inside or outside [0, N) as a whole when
  // the runs are multiples of 4 (then so is N); the split stride M * N is then one too.
  const bool vec_c = run % 4 == 0 && cuda_detail::aligned16(out);
  const ConvArgs3 args{d,
                       a,
                       b,
                       out,
                       Parts<kPass>::b_geometry(d),
                       M,
                       N,
                       K,
                       static_cast<int>(n_tiles),
                       per_split,
                       static_cast<int>(count),
                       vec_c};
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  bool strided = false;  // only backward-data divides by the stride
  if constexpr (kPass == Pass::BackwardData) strided = d.stride > 1;
  if (strided) {
    if constexpr (kPass == Pass::BackwardData)
      conv2d_igemm_kernel3<kPass, true><<<grid, kThreads, 0, stream>>>(args);
  } else {
    conv2d_igemm_kernel3<kPass, false><<<grid, kThreads, 0, stream>>>(args);
  }
  CUDP_LAUNCH_CHECK("conv2d_igemm_kernel3", stream);
  if (splits > 1) cuda_detail::reduce_splits(ctx, stream, out, splits, count, 1.0f, 0.0f, c);
}

}  // namespace

void forward(const Context& ctx, const ConvDims& d, const float* x, const float* w, float* y) {
  launch<Pass::Forward>(ctx, d, d.K, d.N * d.PQ, d.CRS, w, x, y, d.PQ, false,
                        "conv2d_forward (cuda)");
}

void backward_data(const Context& ctx, const ConvDims& d, const float* dy, const float* w,
                   float* dx) {
  launch<Pass::BackwardData>(ctx, d, d.C, d.N * d.HW, d.K * d.RS, w, dy, dx, d.HW, false,
                             "conv2d_backward_data (cuda)");
}

void backward_weight(const Context& ctx, const ConvDims& d, const float* x, const float* dy,
                     float* dw) {
  launch<Pass::BackwardWeight>(ctx, d, d.K, d.CRS, d.N * d.PQ, dy, x, dw, d.CRS, true,
                               "conv2d_backward_weight (cuda)");
}

}  // namespace cudp::cuda::conv2d_v3
