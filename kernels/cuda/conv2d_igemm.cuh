// The implicit-GEMM view of conv2d shared by the FP32 kernel (conv2d.cu v2) and the tf32
// tensor-core kernel (conv2d_tf32.cu): the shape in 32-bit ints with its divisors, and
// each pass's rows, columns and depth split into parts (see conv2d.cu's file comment for
// the three passes as GEMMs). Only kernels/cuda/*.cu include this header.
#pragma once

#include <cuda_runtime.h>

#include "kernels/conv2d.h"
#include "kernels/cuda/common.cuh"
#include "runtime/error.h"

namespace cudp::cuda::conv2d_igemm {

using cuda_detail::FastDivmod;

// Shape in 32-bit ints plus the divisors the kernels decode indices with.
struct ConvDims {
  int N, C, H, W, K, R, S, P, Q, stride, pad;
  int HW, PQ, RS, CRS, CHW, KPQ;
  FastDivmod div_HW, div_W, div_PQ, div_Q, div_RS, div_S, div_stride;
};

inline ConvDims make_dims(const Conv2dShape& s, const char* where) {
  check_conv2d_shape(s, where);
  const int64_t kMax = 0x7fffffff;
  if (s.x_size() > kMax || s.w_size() > kMax || s.y_size() > kMax)
    fail(where, ": conv2d tensors must hold fewer than 2^31 elements, found x = ", s.x_size(),
         ", w = ", s.w_size(), ", y = ", s.y_size());
  if (s.padding >= kMax / 8 || s.stride >= kMax / 8)  // window offsets are int sums of them
    fail(where, ": conv2d's 32-bit indexing needs padding and stride below 2^28, found padding = ",
         s.padding, ", stride = ", s.stride);
  ConvDims d{};
  d.N = static_cast<int>(s.N), d.C = static_cast<int>(s.C), d.H = static_cast<int>(s.H);
  d.W = static_cast<int>(s.W), d.K = static_cast<int>(s.K), d.R = static_cast<int>(s.R);
  d.S = static_cast<int>(s.S), d.P = static_cast<int>(s.P()), d.Q = static_cast<int>(s.Q());
  d.stride = static_cast<int>(s.stride), d.pad = static_cast<int>(s.padding);
  d.HW = d.H * d.W, d.PQ = d.P * d.Q, d.RS = d.R * d.S, d.CRS = d.C * d.RS;
  d.CHW = d.C * d.HW, d.KPQ = d.K * d.PQ;
  d.div_HW = FastDivmod(d.HW), d.div_W = FastDivmod(d.W), d.div_PQ = FastDivmod(d.PQ);
  d.div_Q = FastDivmod(d.Q), d.div_RS = FastDivmod(d.RS), d.div_S = FastDivmod(d.S);
  d.div_stride = FastDivmod(d.stride);
  return d;
}

// An operand element (x, kk) -- x a GEMM row or column, kk a depth index -- lives at
//   base[x.off + kk.off + th * pitch + tw],  th = x.h + kk.h,  tw = x.w + kk.w,
// and is 0 unless 0 <= th < rows and 0 <= tw < cols (the padding of the image). Plain matrix
// operands use h = w = 0 with rows = cols = 1. An index past the GEMM's edge gets h = kInvalid,
// which fails the bounds test, so tiles are zero-filled there.
struct Part {
  int off, h, w;
};
constexpr int kInvalid = -(1 << 29);  // far below any real h, and sums of two never overflow

struct Geometry {
  int pitch, rows, cols;
};

enum class Pass { Forward, BackwardData, BackwardWeight };

// The row (A), column (B) and depth parts of each pass, and the output address of (m, j).
template <Pass kPass>
struct Parts;

template <>
struct Parts<Pass::Forward> {  // rows k, columns (n,p,q), depth (c,r,s); A = w, B = x
  static constexpr bool kBDepthFast = false;  // consecutive columns are consecutive q
  __device__ static Part a_row(const ConvDims& d, int k) { return {k * d.CRS, 0, 0}; }
  __device__ static Part a_depth(const ConvDims&, int kk) { return {kk, 0, 0}; }
  __device__ static Part b_col(const ConvDims& d, int j) {
    int n, pq, p, q;
    d.div_PQ.divmod(j, n, pq);
    d.div_Q.divmod(pq, p, q);
    return {n * d.CHW, p * d.stride - d.pad, q * d.stride - d.pad};
  }
  __device__ static Part b_depth(const ConvDims& d, int kk) {
    int c, rs, r, s;
    d.div_RS.divmod(kk, c, rs);
    d.div_S.divmod(rs, r, s);
    return {c * d.HW, r, s};
  }
  static Geometry b_geometry(const ConvDims& d) { return {d.W, d.H, d.W}; }
  __device__ static int c_row(const ConvDims& d, int k) { return k * d.PQ; }
  __device__ static int c_col(const ConvDims& d, int j) {
    int n, pq;
    d.div_PQ.divmod(j, n, pq);
    return n * d.KPQ + pq;
  }
};

template <>
struct Parts<Pass::BackwardData> {  // rows c, columns (n,h,w), depth (k,r,s); A = w, B = dy
  static constexpr bool kBDepthFast = false;
  __device__ static Part a_row(const ConvDims& d, int c) { return {c * d.RS, 0, 0}; }
  __device__ static Part a_depth(const ConvDims& d, int kk) {
    int k, rs;
    d.div_RS.divmod(kk, k, rs);
    return {k * d.CRS + rs, 0, 0};
  }
  // th = h + pad - r = p * stride: the output row whose window puts filter row r on h.
  __device__ static Part b_col(const ConvDims& d, int j) {
    int n, hw, h, w;
    d.div_HW.divmod(j, n, hw);
    d.div_W.divmod(hw, h, w);
    return {n * d.KPQ, h + d.pad, w + d.pad};
  }
  __device__ static Part b_depth(const ConvDims& d, int kk) {
    int k, rs, r, s;
    d.div_RS.divmod(kk, k, rs);
    d.div_S.divmod(rs, r, s);
    return {k * d.PQ, -r, -s};
  }
  static Geometry b_geometry(const ConvDims& d) { return {d.Q, d.P, d.Q}; }
  __device__ static int c_row(const ConvDims& d, int c) { return c * d.HW; }
  __device__ static int c_col(const ConvDims& d, int j) {
    int n, hw;
    d.div_HW.divmod(j, n, hw);
    return n * d.CHW + hw;
  }
};

template <>
struct Parts<Pass::BackwardWeight> {  // rows k, columns (c,r,s), depth (n,p,q); A = dy, B = x
  static constexpr bool kBDepthFast = true;  // consecutive depth indices are consecutive q
  __device__ static Part a_row(const ConvDims& d, int k) { return {k * d.PQ, 0, 0}; }
  __device__ static Part a_depth(const ConvDims& d, int kk) {
    int n, pq;
    d.div_PQ.divmod(kk, n, pq);
    return {n * d.KPQ + pq, 0, 0};
  }
  __device__ static Part b_col(const ConvDims& d, int j) {
    int c, rs, r, s;
    d.div_RS.divmod(j, c, rs);
    d.div_S.divmod(rs, r, s);
    return {c * d.HW, r, s};
  }
  __device__ static Part b_depth(const ConvDims& d, int kk) {
    int n, pq, p, q;
    d.div_PQ.divmod(kk, n, pq);
    d.div_Q.divmod(pq, p, q);
    return {n * d.CHW, p * d.stride - d.pad, q * d.stride - d.pad};
  }
  static Geometry b_geometry(const ConvDims& d) { return {d.W, d.H, d.W}; }
  __device__ static int c_row(const ConvDims& d, int k) { return k * d.CRS; }
  __device__ static int c_col(const ConvDims&, int j) { return j; }
};

// Offset of an operand element from its two parts, or -1 where it is 0 (outside the image
// or past the GEMM's edge); kStrided: backward-data with stride > 1, where th and tw are
// p * stride and q * stride and must divide evenly.
template <bool kStrided>
__device__ __forceinline__ int gather_offset(Geometry g, const FastDivmod& stride, Part x, Part k) {
  int th = x.h + k.h, tw = x.w + k.w;
  if constexpr (kStrided) {
    if (th < 0 || tw < 0) return -1;
    int ph, rh, pw, rw;
    stride.divmod(th, ph, rh);
    stride.divmod(tw, pw, rw);
    if ((rh | rw) != 0) return -1;
    th = ph;
    tw = pw;
  }
  if (static_cast<unsigned>(th) < static_cast<unsigned>(g.rows) &&
      static_cast<unsigned>(tw) < static_cast<unsigned>(g.cols))
    return x.off + k.off + th * g.pitch + tw;
  return -1;
}

// What the implicit-GEMM kernels (v2, v3, tf32 v1) need beyond make_dims, checked before
// anything is launched: their tiles round the GEMM extents up in int, so each extent must
// leave `tile` (the largest tile dimension) of headroom below INT32_MAX (a tensor under
// 2^31 elements can still have N*P*Q just below it); and a part's h and w (window starts
// p * stride - pad, h + pad) must stay far from kInvalid (-2^29). `kernel` names the version in the
// message, `hint` what to do instead.
inline void check_igemm_extents(const ConvDims& d, int64_t M, int64_t N, int64_t K, int tile,
                                const char* kernel, const char* hint, const char* where) {
  const int64_t kLimit = 0x7fffffff - tile;
  if (M > kLimit || N > kLimit || K > kLimit)
    fail(where, ": conv2d ", kernel, " (implicit GEMM) needs GEMM extents <= ", kLimit,
         " for its 32-bit tile arithmetic, found rows = ", M, ", columns = ", N, ", depth = ", K,
         "; ", hint);
  const int64_t kSmall = int64_t{1} << 28;  // make_dims bounds padding and stride the same
  if (d.R >= kSmall || d.S >= kSmall || int64_t{d.H} + d.pad >= kSmall ||
      int64_t{d.W} + d.pad >= kSmall)
    fail(where, ": conv2d ", kernel, " (implicit GEMM) needs filter and padded image sizes "
         "below 2^28 for its index decoding, found R x S = ", d.R, " x ", d.S, ", H x W = ", d.H,
         " x ", d.W, ", padding ", d.pad, "; ", hint);
}

}  // namespace cudp::cuda::conv2d_igemm
