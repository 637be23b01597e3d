// CUDA conv2d on tensor cores, the tf32 math mode (runtime/math.h): the three passes as
// implicit GEMMs (kernels/cuda/conv2d_igemm.cuh, the view conv2d.cu's v2 uses) on the
// mma.sync core of the tf32 GEMM (kernels/cuda/mma_tf32.cuh).
//
// Versions (conv2d_*_tf32_version; ctx.math == tf32 runs the default, v1):
//   v1: 64 x 128 x 16 block tiles, 8 warps of 32 x 32 (2 x 4 m16n8k8 tiles each), a
//       3-stage pipeline of 4-byte cp.async gathers (zero-filled outside the image and past
//       the GEMM's edges) into XOR-swizzled shared memory, ldmatrix for the operands read
//       along the depth; backward-weight splits its long N*P*Q depth over the grid and adds
//       the splits in a second, deterministic pass. Unverified on silicon: compiled for
//       sm_90 in CI, its index math checked on the CPU, never run.
//
// The decisions a reader would get wrong:
//  - A (the filters, or dy for backward-weight) is read along the depth and stored k-major;
//    B is read along its columns (consecutive q) and stored x-major, except in
//    backward-weight, whose depth runs along q (Parts::kBDepthFast);
//  - each element is one 4-byte copy: the gathered addresses are not 16-byte runs;
//  - the row and column parts are decoded once per block into shared memory; the depth
//    parts each thread needs are decoded again per tile, in registers;
//  - extents are checked as for v2 (32-bit tile arithmetic).
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/conv2d.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_igemm.cuh"
#include "kernels/cuda/mma_tf32.cuh"
#include "kernels/cuda/split_reduce.cuh"
#include "kernels/cuda/versions.h"

namespace cudp::cuda {
namespace {

using namespace conv2d_igemm;
using cuda_detail::ceil_div;
using mma_tf32::kBK;
using mma_tf32::kThreads;

constexpr int kMT = 2, kNT = 4;
constexpr int kBM = 2 * 16 * kMT, kBN = 4 * 8 * kNT;  // 64 x 128
constexpr int kStages = 3;
constexpr int kTileA = kBM * kBK, kTileB = kBN * kBK;
constexpr int kAPer = kTileA / kThreads, kBPer = kTileB / kThreads;  // 4, 8
constexpr size_t kSmemBytes = sizeof(float) * kStages * (kTileA + kTileB);
// A thread's depth (k-major copies) or column (x-major copies) is the same in every copy
// `it`, which the loaders rely on to decode it once: the copy stride must keep it.
static_assert(kThreads % mma_tf32::kBK == 0, "k-major copies: e.k must not depend on it");
static_assert(kThreads % kBN == 0, "x-major copies of B: e.x must not depend on it");
static_assert(kSmemBytes + sizeof(Part) * (kBM + kBN) <= 48 * 1024, "static limit");

struct Tf32ConvArgs {
  ConvDims d;
  const float* a;
  const float* b;
  float* c;  // output, or the partial-sum scratch when splits > 1
  Geometry b_geometry;
  int M, N, K;
  int n_tiles;
  int k_tiles_per_split;
  size_t split_stride;
};

template <Pass kPass, bool kStrided>
__global__ void __launch_bounds__(kThreads) conv2d_tf32_kernel1(Tf32ConvArgs g) {
  using P = Parts<kPass>;
  constexpr bool kBKMajor = P::kBDepthFast;
  extern __shared__ __align__(16) float smem[];
  float* const As = smem;
  float* const Bs = smem + kStages * kTileA;
  __shared__ Part a_rows[kBM], b_cols[kBN];

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int m0 = (blockIdx.x / g.n_tiles) * kBM, n0 = (blockIdx.x % g.n_tiles) * kBN;
  const int k_tiles = (g.K + kBK - 1) / kBK;
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int tiles = min(k_tiles, t_begin + g.k_tiles_per_split) - t_begin;
  const Part invalid{0, kInvalid, kInvalid};
  const Geometry a_geometry{0, 1, 1};

  if (tid < kBM)
    a_rows[tid] = m0 + tid < g.M ? P::a_row(g.d, m0 + tid) : invalid;
  else if (tid < kBM + kBN)
    b_cols[tid - kBM] = n0 + tid - kBM < g.N ? P::b_col(g.d, n0 + tid - kBM) : invalid;
  __syncthreads();

  auto load_stage = [&](int i) {  // tile t_begin + i into stage i % kStages
    const int k0 = (t_begin + i) * kBK, stage = i % kStages;
    float* const as = As + stage * kTileA;
    float* const bs = Bs + stage * kTileB;
    {  // A, k-major: this thread's depth is the same for its kAPer rows
      const int kk = k0 + mma_tf32::kmajor_element(tid, 0).k;
      const Part ad = kk < g.K ? P::a_depth(g.d, kk) : invalid;
#pragma unroll
      for (int it = 0; it < kAPer; ++it) {
        const mma_tf32::XK e = mma_tf32::kmajor_element(tid, it);
        const int off = gather_offset<false>(a_geometry, g.d.div_stride, a_rows[e.x], ad);
        cuda_detail::cp_async4(as + mma_tf32::kmajor_offset(e.x, e.k), g.a + max(off, 0),
                               off >= 0);
      }
    }
    if constexpr (kBKMajor) {
      const int kk = k0 + mma_tf32::kmajor_element(tid, 0).k;
      const Part bd = kk < g.K ? P::b_depth(g.d, kk) : invalid;
#pragma unroll
      for (int it = 0; it < kBPer; ++it) {
        const mma_tf32::XK e = mma_tf32::kmajor_element(tid, it);
        const int off = gather_offset<kStrided>(g.b_geometry, g.d.div_stride, b_cols[e.x], bd);
        cuda_detail::cp_async4(bs + mma_tf32::kmajor_offset(e.x, e.k), g.b + max(off, 0),
                               off >= 0);
      }
    } else {  // x-major: this thread's column is the same for its kBPer depths
      const Part bc = b_cols[mma_tf32::xmajor_element(kBN, tid, 0).x];
#pragma unroll
      for (int it = 0; it < kBPer; ++it) {
        const mma_tf32::XK e = mma_tf32::xmajor_element(kBN, tid, it);
        const int kk = k0 + e.k;
        const Part bd = kk < g.K ? P::b_depth(g.d, kk) : invalid;
        const int off = gather_offset<kStrided>(g.b_geometry, g.d.div_stride, bc, bd);
        cuda_detail::cp_async4(bs + mma_tf32::xmajor_offset(kBN, e.x, e.k), g.b + max(off, 0),
                               off >= 0);
      }
    }
  };

  float acc[kMT][kNT][4] = {};
  cuda_detail::cp_async_pipeline<kStages>(tiles, load_stage, [&](int stage) {
    cuda_detail::warp_mma_stage<kMT, kNT, true, kBKMajor, kBM, kBN>(
        As + stage * kTileA, Bs + stage * kTileB, warp, lane, acc);
  });

  float* const out = g.c + blockIdx.y * g.split_stride;
  const int wm = mma_tf32::warp_row0(warp, kMT), wn = mma_tf32::warp_col0(warp, kNT);
#pragma unroll
  for (int ni = 0; ni < kNT; ++ni)
#pragma unroll
    for (int j = 0; j < 2; ++j) {  // registers i with i % 2 == j share a column
      const int col = n0 + wn + 8 * ni + mma_tf32::c_fragment(lane, j).col;
      if (col >= g.N) continue;
      const int col_offset = P::c_col(g.d, col);
#pragma unroll
      for (int mi = 0; mi < kMT; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = m0 + wm + 16 * mi + mma_tf32::c_fragment(lane, 2 * h + j).row;
          if (row < g.M) out[P::c_row(g.d, row) + col_offset] = acc[mi][ni][2 * h + j];
        }
    }
}

template <Pass kPass>
void launch(const Context& ctx, cudaStream_t stream, const ConvDims& d, int M, int N, int K,
            const float* a, const float* b, float* c, bool splits_allowed, const char* where) {
  // The extents were checked by the caller (check_extents).
  const int64_t m_tiles = ceil_div(M, kBM), n_tiles = ceil_div(N, kBN);
  if (m_tiles * n_tiles > 0x7fffffff) fail(where, ": too many tiles (", m_tiles * n_tiles, ")");
  const int k_tiles = static_cast<int>(ceil_div(K, kBK));
  const int64_t tiles = m_tiles * n_tiles;
  // As v2: ~4 blocks per multiprocessor, >= 4 k-tiles per split; only backward-weight splits.
  const cuda_detail::SplitK split = splits_allowed
                                        ? cuda_detail::plan_split_k(ctx, tiles, k_tiles, 4)
                                        : cuda_detail::SplitK{1, std::max(1, k_tiles)};
  const int splits = split.splits, per_split = split.tiles_per_split;
  float* out = c;
  const size_t count = static_cast<size_t>(M) * static_cast<size_t>(N);
  if (splits > 1)
    out = static_cast<float*>(
        cuda_detail::scratch(ctx, static_cast<size_t>(splits) * count * sizeof(float)));
  const Tf32ConvArgs args{d,   a, b, out, Parts<kPass>::b_geometry(d), M, N, K,
                          static_cast<int>(n_tiles), per_split, count};
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  bool strided = false;  // only backward-data divides by the stride
  if constexpr (kPass == Pass::BackwardData) strided = d.stride > 1;
  if (strided) {
    if constexpr (kPass == Pass::BackwardData)
      conv2d_tf32_kernel1<kPass, true><<<grid, kThreads, kSmemBytes, stream>>>(args);
  } else {
    conv2d_tf32_kernel1<kPass, false><<<grid, kThreads, kSmemBytes, stream>>>(args);
  }
  CUDP_LAUNCH_CHECK("conv2d_tf32_kernel1", stream);
  if (splits > 1)
    cuda_detail::reduce_splits(ctx, stream, out, splits, static_cast<int64_t>(count), 1.0f, 0.0f,
                               c);
}

// Before anything is queued; the extents in 64 bits (d's int products could overflow).
void check_extents(const ConvDims& d, int64_t M, int64_t N, int64_t K, const char* where) {
  check_igemm_extents(d, M, N, K, std::max({kBM, kBN, kBK}), "tf32 v1", "use a smaller batch",
                      where);
}

void check_version(int version) {
  if (version < 1 || version > conv2d_tf32_versions())
    fail("conv2d (cuda): tf32 version ", version, " does not exist (1..", conv2d_tf32_versions(),
         ")");
}

}  // namespace

int conv2d_tf32_versions() { return 1; }
int conv2d_tf32_default_version() { return 1; }

void conv2d_forward_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                 const float* x, const float* w, float* y) {
  check_version(version);
  const char* where = "conv2d_forward (cuda, tf32)";
  const ConvDims d = make_dims(s, where);
  check_extents(d, s.K, s.N * s.P() * s.Q(), s.C * s.R * s.S, where);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  launch<Pass::Forward>(ctx, stream, d, d.K, d.N * d.PQ, d.CRS, w, x, y, false, where);
}

void conv2d_backward_data_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                       const float* dy, const float* w, float* dx) {
  check_version(version);
  const char* where = "conv2d_backward_data (cuda, tf32)";
  const ConvDims d = make_dims(s, where);
  check_extents(d, s.C, s.N * s.H * s.W, s.K * s.R * s.S, where);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  launch<Pass::BackwardData>(ctx, stream, d, d.C, d.N * d.HW, d.K * d.RS, w, dy, dx, false,
                             where);
}

void conv2d_backward_weight_tf32_version(int version, const Context& ctx, const Conv2dShape& s,
                                         const float* x, const float* dy, float* dw) {
  check_version(version);
  const char* where = "conv2d_backward_weight (cuda, tf32)";
  const ConvDims d = make_dims(s, where);
  check_extents(d, s.K, s.C * s.R * s.S, s.N * s.P() * s.Q(), where);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  launch<Pass::BackwardWeight>(ctx, stream, d, d.K, d.CRS, d.N * d.PQ, dy, x, dw, true, where);
}

}  // namespace cudp::cuda
