// CUDA conv2d, NCHW: forward, backward-data, backward-weight (kernels/conv2d.h).
//
// Versions (conv2d_*_version; the public ops run the default, v2):
//   v1: direct loops, one thread per output element (y, dx or dw), grid-stride.
//   v2: implicit GEMM: the conv is a GEMM whose operand tiles are gathered from the tensors
//       on the fly (no im2col buffer), 64 x 128 x 16 block tiles, 4 x 8 outputs per thread,
//       double-buffered shared memory; backward-weight splits its long N*P*Q depth over the
//       grid and sums the partial tiles in a second, deterministic pass.
//   v3: v2 by the means of GEMM v6 (kernels/cuda/conv2d_v3.cu): 64 x 256 x 8 block tiles, 8 x 8
//       outputs per thread, a 4-stage pipeline of 4-byte zero-filling cp.async gathers,
//       double-buffered register fragments, v2's split-K. Unverified on silicon, not the
//       default until a GPU report shows it passing and faster.
//
// The three passes as GEMMs, output (row, column) summed over a depth index; x = [N,C,H,W],
// w = [K,C,R,S], h = p*st - pad + r, w' = q*st - pad + s:
//   forward          y[n,k,p,q]  (k, (n,p,q))  = sum over (c,r,s)  w[k,c,r,s] * x[n,c,h,w']
//   backward-data    dx[n,c,h,w] (c, (n,h,w))  = sum over (k,r,s)  w[k,c,r,s] * dy[n,k,p,q]
//                    with p = (h + pad - r) / st, q = (w + pad - s) / st where they divide
//   backward-weight  dw[k,c,r,s] (k, (c,r,s))  = sum over (n,p,q)  dy[n,k,p,q] * x[n,c,h,w']
// Every operand address splits into a part that depends on the row or column only and a part
// that depends on the depth index only (see Part): the kernel decodes each row, column and
// depth index ONCE per block or per k-tile into shared-memory tables, and an element is then
// an add, two bounds tests and a load. Backward-data with stride > 1 also divides the input
// offset by the stride (an input row is reached only by outputs whose window lands on it).
//
// The decisions a reader would get wrong:
//  - the split-K partial sums go to a scratch buffer [splits, K, C*R*S] and a second kernel
//    adds them in split order: results are bitwise reproducible from run to run (no atomics),
//    though the number of splits depends on the GPU's multiprocessor count;
//  - indices are 32-bit: every tensor must hold < 2^31 elements, and v2's GEMM extents (rows,
//    columns, depth: N*P*Q for the forward columns and the backward-weight depth) must stay
//    below 2^31 - 128, so that rounding up to a whole tile cannot overflow (both checked);
//  - both backwards overwrite their outputs, as the header requires.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/conv2d.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_igemm.cuh"
#include "kernels/cuda/conv2d_v3.cuh"
#include "kernels/cuda/split_reduce.cuh"
#include "kernels/cuda/versions.h"

namespace cudp::cuda {
namespace {

using cuda_detail::ceil_div;
using cuda_detail::FastDivmod;
using namespace conv2d_igemm;

constexpr int kThreads = 256;

// ---------------------------------------------------------------- v1: direct
__global__ void conv2d_forward_kernel1(ConvDims d, const float* __restrict__ x,
                                       const float* __restrict__ w, float* __restrict__ y) {
  const int total = d.N * d.KPQ;
  for (int64_t ii = blockIdx.x * blockDim.x + threadIdx.x; ii < total;
       ii += gridDim.x * blockDim.x) {
    const int i = static_cast<int>(ii);
    const int q = i % d.Q, p = (i / d.Q) % d.P, k = (i / d.PQ) % d.K, n = i / d.KPQ;
    float acc = 0.0f;
    for (int c = 0; c < d.C; ++c)
      for (int r = 0; r < d.R; ++r) {
        const int h = p * d.stride - d.pad + r;
        if (h < 0 || h >= d.H) continue;
        for (int s = 0; s < d.S; ++s) {
          const int ww = q * d.stride - d.pad + s;
          if (ww < 0 || ww >= d.W) continue;
          acc += w[((k * d.C + c) * d.R + r) * d.S + s] * x[(n * d.C + c) * d.HW + h * d.W + ww];
        }
      }
    y[i] = acc;
  }
}

__global__ void conv2d_backward_data_kernel1(ConvDims d, const float* __restrict__ dy,
                                             const float* __restrict__ w, float* __restrict__ dx) {
  const int total = d.N * d.CHW;
  for (int64_t ii = blockIdx.x * blockDim.x + threadIdx.x; ii < total;
       ii += gridDim.x * blockDim.x) {
    const int i = static_cast<int>(ii);
    const int ww = i % d.W, h = (i / d.W) % d.H, c = (i / d.HW) % d.C, n = i / d.CHW;
    float acc = 0.0f;
    for (int k = 0; k < d.K; ++k)
      for (int r = 0; r < d.R; ++r) {
        const int th = h + d.pad - r;  // = p * stride for the output row p that reads h
        if (th < 0 || th % d.stride != 0 || th / d.stride >= d.P) continue;
        const int p = th / d.stride;
        for (int s = 0; s < d.S; ++s) {
          const int tw = ww + d.pad - s;
          if (tw < 0 || tw % d.stride != 0 || tw / d.stride >= d.Q) continue;
          const int q = tw / d.stride;
          acc += w[((k * d.C + c) * d.R + r) * d.S + s] * dy[(n * d.K + k) * d.PQ + p * d.Q + q];
        }
      }
    dx[i] = acc;
  }
}

__global__ void conv2d_backward_weight_kernel1(ConvDims d, const float* __restrict__ x,
                                               const float* __restrict__ dy,
                                               float* __restrict__ dw) {
  const int total = d.K * d.CRS;
  for (int64_t ii = blockIdx.x * blockDim.x + threadIdx.x; ii < total;
       ii += gridDim.x * blockDim.x) {
    const int i = static_cast<int>(ii);
    const int s = i % d.S, r = (i / d.S) % d.R, c = (i / d.RS) % d.C, k = i / d.CRS;
    float acc = 0.0f;
    for (int n = 0; n < d.N; ++n)
      for (int p = 0; p < d.P; ++p) {
        const int h = p * d.stride - d.pad + r;
        if (h < 0 || h >= d.H) continue;
        for (int q = 0; q < d.Q; ++q) {
          const int ww = q * d.stride - d.pad + s;
          if (ww < 0 || ww >= d.W) continue;
          acc += dy[(n * d.K + k) * d.PQ + p * d.Q + q] * x[(n * d.C + c) * d.HW + h * d.W + ww];
        }
      }
    dw[i] = acc;
  }
}

// ---------------------------------------------------------------- v2: implicit GEMM
struct IgemmArgs {
  ConvDims d;
  const float* a;
  const float* b;
  float* c;  // output, or the partial-sum scratch when splits > 1
  Geometry b_geometry;
  int M, N, K;            // GEMM rows, columns, depth
  int n_tiles;            // column tiles: block x covers row tile x / n_tiles
  int k_tiles_per_split;  // blockIdx.y = split
  int split_stride;       // M * N: distance between two splits' partial outputs
};

constexpr int kBM = 64, kBN = 128, kBK = 16, kPad = 4;
constexpr int kAPer = kBM * kBK / kThreads;  // 4 A elements per thread per tile
constexpr int kBPer = kBN * kBK / kThreads;  // 8 B elements per thread per tile

template <bool kStrided>
__device__ __forceinline__ float gather(const float* __restrict__ base, Geometry g,
                                        const FastDivmod& stride, Part x, Part k) {
  const int off = gather_offset<kStrided>(g, stride, x, k);
  return off < 0 ? 0.0f : base[off];
}

// Thread layout: 8 warps as 2 (rows) x 4 (columns), warp tile 32 x 32; in a warp lane = 4*lm
// + ln, and the thread owns rows 4*lm + (0..3) and columns {4*ln, 16 + 4*ln} + (0..3).
template <Pass kPass, bool kStrided>
__global__ void __launch_bounds__(kThreads) conv2d_igemm_kernel2(IgemmArgs g) {
  using P = Parts<kPass>;
  __shared__ __align__(16) float As[2][kBK][kBM + kPad];
  __shared__ __align__(16) float Bs[2][kBK][kBN + kPad];
  __shared__ Part a_rows[kBM], b_cols[kBN];            // decoded once per block
  __shared__ Part a_depths[2][kBK], b_depths[2][kBK];  // decoded once per k-tile

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int m0 = (blockIdx.x / g.n_tiles) * kBM, n0 = (blockIdx.x % g.n_tiles) * kBN;
  const int k_tiles = (g.K + kBK - 1) / kBK;  // cannot overflow: check_v2_extents
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int t_end = min(k_tiles, t_begin + g.k_tiles_per_split);
  const Part invalid{0, kInvalid, kInvalid};

  // Depth tables of tile t into buffer `buf`: threads [0, kBK) for A, [kBK, 2 kBK) for B.
  auto fill_depths = [&](int t, int buf) {
    if (tid < kBK) {
      const int kk = t * kBK + tid;
      a_depths[buf][tid] = kk < g.K ? P::a_depth(g.d, kk) : invalid;
    } else if (tid < 2 * kBK) {
      const int kk = t * kBK + tid - kBK;
      b_depths[buf][tid - kBK] = kk < g.K ? P::b_depth(g.d, kk) : invalid;
    }
  };
  // A is read depth-fast (4 elements: rows it*16 + tid/16, depth tid%16). B is read
  // column-fast (column tid%128, depths 2*it + tid/128) or, for backward-weight whose depth
  // runs along q, depth-fast (depth tid%16, columns it*16 + tid/16).
  const Geometry a_geometry{0, 1, 1};
  auto load = [&](int buf, float(&ra)[kAPer], float(&rb)[kBPer]) {
    const Part ad = a_depths[buf][tid % kBK];
#pragma unroll
    for (int it = 0; it < kAPer; ++it)
      ra[it] = gather<false>(g.a, a_geometry, g.d.div_stride, a_rows[it * 16 + tid / 16], ad);
    if constexpr (P::kBDepthFast) {
      const Part bd = b_depths[buf][tid % kBK];
#pragma unroll
      for (int it = 0; it < kBPer; ++it)
        rb[it] =
            gather<kStrided>(g.b, g.b_geometry, g.d.div_stride, b_cols[it * 16 + tid / 16], bd);
    } else {
      const Part bc = b_cols[tid % kBN];
#pragma unroll
      for (int it = 0; it < kBPer; ++it)
        rb[it] = gather<kStrided>(g.b, g.b_geometry, g.d.div_stride, bc,
                                  b_depths[buf][2 * it + tid / kBN]);
    }
  };
  auto store = [&](int buf, const float(&ra)[kAPer], const float(&rb)[kBPer]) {
#pragma unroll
    for (int it = 0; it < kAPer; ++it) As[buf][tid % kBK][it * 16 + tid / 16] = ra[it];
#pragma unroll
    for (int it = 0; it < kBPer; ++it) {
      if constexpr (P::kBDepthFast)
        Bs[buf][tid % kBK][it * 16 + tid / 16] = rb[it];
      else
        Bs[buf][2 * it + tid / kBN][tid % kBN] = rb[it];
    }
  };

  if (tid < kBM)
    a_rows[tid] = m0 + tid < g.M ? P::a_row(g.d, m0 + tid) : invalid;
  else if (tid < kBM + kBN)
    b_cols[tid - kBM] = n0 + tid - kBM < g.N ? P::b_col(g.d, n0 + tid - kBM) : invalid;
  if (t_begin < t_end) fill_depths(t_begin, 0);
  __syncthreads();

  float acc[4][8];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
  float ra[kAPer], rb[kBPer];
  if (t_begin < t_end) {
    load(0, ra, rb);
    if (t_begin + 1 < t_end) fill_depths(t_begin + 1, 1);
    store(0, ra, rb);
    __syncthreads();
  }
  const int wm = (warp / 4) * 32, wn = (warp % 4) * 32;
  const int tm = (lane / 4) * 4, tn = (lane % 4) * 4;
  for (int t = t_begin; t < t_end; ++t) {
    const int cur = (t - t_begin) & 1;
    if (t + 1 < t_end) load(cur ^ 1, ra, rb);  // in flight during the FMAs below
#pragma unroll
    for (int k = 0; k < kBK; ++k) {
      const float4 a = *reinterpret_cast<const float4*>(&As[cur][k][wm + tm]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[cur][k][wn + tn]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[cur][k][wn + 16 + tn]);
      const float av[4] = {a.x, a.y, a.z, a.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    // Tiles and depth tables of buffer cur ^ 1 were last read in the previous iteration
    // (or the prologue), which ended with a barrier.
    if (t + 1 < t_end) store(cur ^ 1, ra, rb);
    if (t + 2 < t_end) fill_depths(t + 2, cur);  // buffer cur's depths served tile t's loads
    __syncthreads();
  }

  float* out = g.c + static_cast<size_t>(blockIdx.y) * g.split_stride;
  int col_offset[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    const int col = n0 + wn + (j < 4 ? tn + j : 16 + tn + j - 4);
    col_offset[j] = col < g.N ? P::c_col(g.d, col) : -1;
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int row = m0 + wm + tm + i;
    if (row >= g.M) continue;
    const int row_offset = P::c_row(g.d, row);
#pragma unroll
    for (int j = 0; j < 8; ++j)
      if (col_offset[j] >= 0) out[row_offset + col_offset[j]] = acc[i][j];
  }
}

// dw[i] = sum over splits of partial[split][i], in split order (deterministic).
__global__ void conv2d_split_reduce_kernel(const float* __restrict__ partial, int splits, int count,
                                           float* __restrict__ out) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partial[static_cast<size_t>(s) * count + i];
    out[i] = sum;
  }
}

// Runs pass kPass as an implicit GEMM; `splits_allowed` lets backward-weight split its depth.
void check_v2_extents(const ConvDims& d, int64_t M, int64_t N, int64_t K, const char* where) {
  check_igemm_extents(d, M, N, K, std::max({kBM, kBN, kBK}), "v2",
                      "use version 1 or a smaller batch", where);
}

template <Pass kPass>
void launch_igemm(const Context& ctx, cudaStream_t stream, const ConvDims& d, int M, int N, int K,
                  const float* a, const float* b, float* c, bool splits_allowed) {
  const int64_t m_tiles = ceil_div(M, kBM), n_tiles = ceil_div(N, kBN);
  if (m_tiles * n_tiles > 0x7fffffff) fail("conv2d: too many tiles (", m_tiles * n_tiles, ")");
  const int k_tiles = static_cast<int>(ceil_div(K, kBK));
  const int tiles = static_cast<int>(m_tiles * n_tiles);
  // Aim at ~4 blocks per multiprocessor, each split at least 4 k-tiles deep, and a
  // partial buffer that fits 32-bit indexing.
  const cuda_detail::SplitK split =
      splits_allowed ? cuda_detail::plan_split_k(ctx, tiles, k_tiles, 4, 4, int64_t{M} * N)
                     : cuda_detail::SplitK{1, k_tiles};
  const int splits = split.splits, per_split = split.tiles_per_split;
  float* out = c;
  if (splits > 1)
    out = static_cast<float*>(cuda_detail::scratch(
        ctx, static_cast<size_t>(splits) * static_cast<size_t>(M) * N * sizeof(float)));
  IgemmArgs args{
      d,         a,    b, out, Parts<kPass>::b_geometry(d), M, N, K, static_cast<int>(n_tiles),
      per_split, M * N};
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  bool strided = false;  // only backward-data divides by the stride
  if constexpr (kPass == Pass::BackwardData) strided = d.stride > 1;
  if (strided) {
    if constexpr (kPass == Pass::BackwardData)
      conv2d_igemm_kernel2<kPass, true><<<grid, kThreads, 0, stream>>>(args);
  } else {
    conv2d_igemm_kernel2<kPass, false><<<grid, kThreads, 0, stream>>>(args);
  }
  CUDP_LAUNCH_CHECK("conv2d_igemm_kernel2", stream);
  if (splits > 1) {
    const int count = M * N;
    conv2d_split_reduce_kernel<<<cuda_detail::grid_stride_blocks(ctx.device.index, count, kThreads),
                                 kThreads, 0, stream>>>(out, splits, count, c);
    CUDP_LAUNCH_CHECK("conv2d_split_reduce_kernel", stream);
  }
}

void check_version(int version) {
  if (version < 1 || version > conv2d_versions())
    fail("conv2d: version ", version, " does not exist (1..", conv2d_versions(), ")");
}

}  // namespace

int conv2d_versions() { return 3; }
int conv2d_default_version() { return 2; }

void conv2d_forward_version(int version, const Context& ctx, const Conv2dShape& s, const float* x,
                            const float* w, float* y) {
  check_version(version);
  const ConvDims d = make_dims(s, "conv2d_forward (cuda)");
  if (version == 3) return conv2d_v3::forward(ctx, d, x, w, y);  // checks its own extents
  if (version == 2)
    check_v2_extents(d, s.K, s.N * s.P() * s.Q(), s.C * s.R * s.S, "conv2d_forward (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (version == 1) {
    conv2d_forward_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, s.y_size(),
                                                             kThreads),
                             kThreads, 0, stream>>>(d, x, w, y);
    CUDP_LAUNCH_CHECK("conv2d_forward_kernel1", stream);
    return;
  }
  launch_igemm<Pass::Forward>(ctx, stream, d, d.K, d.N * d.PQ, d.CRS, w, x, y, false);
}

void conv2d_backward_data_version(int version, const Context& ctx, const Conv2dShape& s,
                                  const float* dy, const float* w, float* dx) {
  check_version(version);
  const ConvDims d = make_dims(s, "conv2d_backward_data (cuda)");
  if (version == 3) return conv2d_v3::backward_data(ctx, d, dy, w, dx);
  if (version == 2)
    check_v2_extents(d, s.C, s.N * s.H * s.W, s.K * s.R * s.S, "conv2d_backward_data (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (version == 1) {
    conv2d_backward_data_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, s.x_size(),
                                                                   kThreads),
                                   kThreads, 0, stream>>>(d, dy, w, dx);
    CUDP_LAUNCH_CHECK("conv2d_backward_data_kernel1", stream);
    return;
  }
  launch_igemm<Pass::BackwardData>(ctx, stream, d, d.C, d.N * d.HW, d.K * d.RS, w, dy, dx, false);
}

void conv2d_backward_weight_version(int version, const Context& ctx, const Conv2dShape& s,
                                    const float* x, const float* dy, float* dw) {
  check_version(version);
  const ConvDims d = make_dims(s, "conv2d_backward_weight (cuda)");
  if (version == 3) return conv2d_v3::backward_weight(ctx, d, x, dy, dw);
  if (version == 2)  // the depth N*P*Q is the extent that gets near INT32_MAX in practice
    check_v2_extents(d, s.K, s.C * s.R * s.S, s.N * s.P() * s.Q(),
                     "conv2d_backward_weight (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (version == 1) {
    conv2d_backward_weight_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, s.w_size(),
                                                                     kThreads),
                                     kThreads, 0, stream>>>(d, x, dy, dw);
    CUDP_LAUNCH_CHECK("conv2d_backward_weight_kernel1", stream);
    return;
  }
  launch_igemm<Pass::BackwardWeight>(ctx, stream, d, d.K, d.CRS, d.N * d.PQ, dy, x, dw, true);
}

void conv2d_forward(const Context& ctx, const Conv2dShape& s, const float* x, const float* w,
                    float* y) {
  if (ctx.math == Math::tf32)
    return conv2d_forward_tf32_version(conv2d_tf32_default_version(), ctx, s, x, w, y);
  conv2d_forward_version(conv2d_default_version(), ctx, s, x, w, y);
}
void conv2d_backward_data(const Context& ctx, const Conv2dShape& s, const float* dy, const float* w,
                          float* dx) {
  if (ctx.math == Math::tf32)
    return conv2d_backward_data_tf32_version(conv2d_tf32_default_version(), ctx, s, dy, w, dx);
  conv2d_backward_data_version(conv2d_default_version(), ctx, s, dy, w, dx);
}
void conv2d_backward_weight(const Context& ctx, const Conv2dShape& s, const float* x,
                            const float* dy, float* dw) {
  if (ctx.math == Math::tf32)
    return conv2d_backward_weight_tf32_version(conv2d_tf32_default_version(), ctx, s, x, dy, dw);
  conv2d_backward_weight_version(conv2d_default_version(), ctx, s, x, dy, dw);
}

}  // namespace cudp::cuda
