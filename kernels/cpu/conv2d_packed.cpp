// CPU conv2d v2 and v3 (conv2d_packed.h): im2col + the packed GEMM, on ctx.threads.
//
// Layout: x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q]; col [C*R*S, P*Q] as in v1:
//   col[(c*R + r)*S + t][p*Q + q] = x[c, p*stride - padding + r, q*stride - padding + t]
// Per sample, on the packed GEMM (gemm_strided); transposes are strides, never copies:
//   forward          y_n [K, PQ]      = w [K, CRS]      * col [CRS, PQ]
//   backward data    dcol [CRS, PQ]   = w^T             * dy_n [K, PQ],  then col2im
//   backward weight  dw [K, CRS]     += dy_n [K, PQ]    * col^T          (samples in order)
// im2col and col2im walk one (c, r, t) row and one output row p at a time and
// find the run of q whose input column is inside the image, so the body is a
// straight copy (stride 1) and the zero padding is two short fills. With stride 1
// and Q == W (the seed nets' "same" 3x3 convolutions) a whole row of col is one
// shifted copy of the input plane plus a few zeros (im2col_row_same_width).
//
// Threads: forward and backward-data give each thread a contiguous share of
// the batch; backward-weight gives each a block of dw (whole micro-tile
// columns of CRS when there are enough, else rows of K), and every thread
// walks all samples, building only the col rows its block needs.
//
// The decisions a reader would get wrong: both backwards OVERWRITE (dx is
// zeroed before col2im adds, dw takes beta 0 on sample 0); and col/dcol live
// in thread_local buffers that only grow, so pool helpers keep theirs too.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/conv2d_packed.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

// Below this many FLOPs per thread a fork costs more than it saves.
constexpr double kMinFlopsPerThread = 4.0e6;

float* scratch(int64_t floats) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(floats)) buffer.resize(static_cast<size_t>(floats));
  return buffer.data();
}

bool col_is_input(const Conv2dShape& s) {
  return s.R == 1 && s.S == 1 && s.stride == 1 && s.padding == 0;
}

// The q whose input column w = q*stride - padding + t lies in [0, W): [lo, hi).
struct QRange {
  int64_t lo, hi;
};
QRange valid_q(const Conv2dShape& s, int64_t t) {
  const int64_t first = s.padding - t;           // w >= 0  <=>  q*stride >= first
  const int64_t last = s.W - 1 + s.padding - t;  // w <= W-1  <=>  q*stride <= last
  const int64_t lo = first <= 0 ? 0 : (first + s.stride - 1) / s.stride;
  const int64_t hi = last < 0 ? 0 : std::min(s.Q(), last / s.stride + 1);
  return {std::min(lo, hi), hi};
}

// The p whose input row h = p*stride - padding + r lies in [0, H): [lo, hi).
QRange valid_p(const Conv2dShape& s, int64_t r) {
  const int64_t first = s.padding - r, last = s.H - 1 + s.padding - r;
  const int64_t lo = first <= 0 ? 0 : (first + s.stride - 1) / s.stride;
  const int64_t hi = last < 0 ? 0 : std::min(s.P(), last / s.stride + 1);
  return {std::min(lo, hi), hi};
}

// Row (c, r, t) of col when stride == 1 and Q == W ("same" width): output row p
// of it is input row p - padding + r shifted by t - padding, so the valid rows
// are ONE contiguous run of the input plane. Copy the run from its first valid
// element to its last, then zero what the run wrapped in from neighbouring
// input rows (the q outside [q.lo, q.hi) of each row) and the invalid rows.
void im2col_row_same_width(const Conv2dShape& s, const float* plane, int64_t r, int64_t t,
                           float* out_row) {
  const int64_t P = s.P(), Q = s.Q();
  const QRange p = valid_p(s, r), q = valid_q(s, t);
  if (p.lo == p.hi || q.lo == q.hi) return (void)std::fill(out_row, out_row + P * Q, 0.0f);
  const int64_t begin = p.lo * Q + q.lo, end = (p.hi - 1) * Q + q.hi;  // in out_row
  // out_row[i] = plane[i + (r - padding) * W + t - padding] over [begin, end)
  const float* in = plane + begin + (r - s.padding) * s.W + (t - s.padding);
  std::fill(out_row, out_row + begin, 0.0f);
  std::copy(in, in + (end - begin), out_row + begin);
  std::fill(out_row + end, out_row + P * Q, 0.0f);
  for (int64_t row = p.lo; row < p.hi; ++row) {
    float* o = out_row + row * Q;
    std::fill(o, o + q.lo, 0.0f);
    std::fill(o + q.hi, o + Q, 0.0f);
  }
}

// Rows [row0, row1) of col for sample x_n, row (row - row0) of `out` each.
void im2col_rows(const Conv2dShape& s, const float* x_n, int64_t row0, int64_t row1, float* out) {
  const int64_t P = s.P(), Q = s.Q();
  const bool same_width = s.stride == 1 && Q == s.W;
  for (int64_t row = row0; row < row1; ++row) {
    const int64_t c = row / (s.R * s.S), r = row / s.S % s.R, t = row % s.S;
    float* out_row = out + (row - row0) * P * Q;
    if (same_width) {
      im2col_row_same_width(s, x_n + c * s.H * s.W, r, t, out_row);
      continue;
    }
    const QRange q = valid_q(s, t);
    for (int64_t p = 0; p < P; ++p) {
      float* o = out_row + p * Q;
      const int64_t h = p * s.stride - s.padding + r;
      if (h < 0 || h >= s.H || q.lo == q.hi) {
        std::fill(o, o + Q, 0.0f);
        continue;
      }
      // output column j reads input column j*stride - padding + t of row h
      const float* in = x_n + (c * s.H + h) * s.W + (q.lo * s.stride - s.padding + t);
      std::fill(o, o + q.lo, 0.0f);
      if (s.stride == 1)
        std::copy(in, in + (q.hi - q.lo), o + q.lo);
      else
        for (int64_t j = q.lo; j < q.hi; ++j) o[j] = in[(j - q.lo) * s.stride];
      std::fill(o + q.hi, o + Q, 0.0f);
    }
  }
}

// dx_n += the adjoint of im2col applied to dcol (dx_n zeroed by the caller).
void col2im_add(const Conv2dShape& s, const float* dcol, float* dx_n) {
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t row = 0; row < s.C * s.R * s.S; ++row) {
    const int64_t c = row / (s.R * s.S), r = row / s.S % s.R, t = row % s.S;
    const QRange q = valid_q(s, t);
    if (q.lo == q.hi) continue;  // the filter column t never lands inside the image
    for (int64_t p = 0; p < P; ++p) {
      const int64_t h = p * s.stride - s.padding + r;
      if (h < 0 || h >= s.H) continue;
      // dcol column j goes back to input column j*stride - padding + t, as in im2col
      float* out = dx_n + (c * s.H + h) * s.W + (q.lo * s.stride - s.padding + t);
      const float* in = dcol + row * P * Q + p * Q + q.lo;
      const int64_t count = q.hi - q.lo;
      if (s.stride == 1)
        for (int64_t j = 0; j < count; ++j) out[j] += in[j];
      else
        for (int64_t j = 0; j < count; ++j) out[j * s.stride] += in[j];
    }
  }
}

int batch_threads(const Context& ctx, const Conv2dShape& s) {
  const double flops = 2.0 * s.N * s.K * s.P() * s.Q() * s.C * s.R * s.S;
  return threads_for(ctx.threads, flops, kMinFlopsPerThread, s.N);
}

}  // namespace

void conv2d_forward_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s, const float* x,
                           const float* w, float* y) {
  check_conv2d_shape(s, "conv2d_forward");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  const int threads = batch_threads(ctx, s);
  parallel_run(threads, [&](int thread) {
    const Range samples = split_range(s.N, threads, thread);
    float* col = col_is_input(s) ? nullptr : scratch(CRS * PQ);
    for (int64_t n = samples.begin; n < samples.end; ++n) {
      const float* x_n = x + n * CHW;
      if (col) im2col_rows(s, x_n, 0, CRS, col);
      gemm_strided(isa, s.K, PQ, CRS, 1.0f, {w, CRS, 1}, {col ? col : x_n, PQ, 1}, 0.0f,
                   y + n * s.K * PQ, PQ);
    }
  });
}

void conv2d_backward_data_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s,
                                 const float* dy, const float* w, float* dx) {
  check_conv2d_shape(s, "conv2d_backward_data");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  const int threads = batch_threads(ctx, s);
  parallel_run(threads, [&](int thread) {
    const Range samples = split_range(s.N, threads, thread);
    float* dcol = col_is_input(s) ? nullptr : scratch(CRS * PQ);
    for (int64_t n = samples.begin; n < samples.end; ++n) {
      float* dx_n = dx + n * CHW;
      // op(A)(crs, k) = w[k*CRS + crs]: w read transposed through its strides
      gemm_strided(isa, CRS, PQ, s.K, 1.0f, {w, 1, CRS}, {dy + n * s.K * PQ, PQ, 1}, 0.0f,
                   dcol ? dcol : dx_n, PQ);
      if (!dcol) continue;  // 1x1, stride 1, no padding: dcol is dx_n
      std::fill(dx_n, dx_n + CHW, 0.0f);
      col2im_add(s, dcol, dx_n);
    }
  });
}

void conv2d_backward_weight_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s,
                                   const float* x, const float* dy, float* dw) {
  check_conv2d_shape(s, "conv2d_backward_weight");
  const int64_t PQ = s.P() * s.Q(), CRS = s.C * s.R * s.S, CHW = s.C * s.H * s.W;
  // dw [K, CRS] in micro-tiles: split its columns when there are enough, else its rows.
  const int64_t tile_rows = gemm_tile_rows(isa), tile_cols = gemm_tile_cols(isa);
  const int64_t col_tiles = (CRS + tile_cols - 1) / tile_cols;
  const int64_t row_tiles = (s.K + tile_rows - 1) / tile_rows;
  const double flops = 2.0 * s.N * s.K * PQ * CRS;
  const int wanted = threads_for(ctx.threads, flops, kMinFlopsPerThread, col_tiles + row_tiles);
  const bool split_cols = col_tiles >= wanted || col_tiles >= row_tiles;
  const int threads = std::min<int>(wanted, static_cast<int>(split_cols ? col_tiles : row_tiles));
  parallel_run(threads, [&](int thread) {
    const Range tiles = split_range(split_cols ? col_tiles : row_tiles, threads, thread);
    const int64_t k0 = split_cols ? 0 : tiles.begin * tile_rows;
    const int64_t k1 = split_cols ? s.K : std::min(s.K, tiles.end * tile_rows);
    const int64_t c0 = split_cols ? tiles.begin * tile_cols : 0;
    const int64_t c1 = split_cols ? std::min(CRS, tiles.end * tile_cols) : CRS;
    float* col = col_is_input(s) ? nullptr : scratch((c1 - c0) * PQ);
    for (int64_t n = 0; n < s.N; ++n) {
      const float* x_n = x + n * CHW;
      if (col) im2col_rows(s, x_n, c0, c1, col);
      // op(B)(pq, crs) = col[crs][pq]: col rows [c0, c1) read transposed
      const float* b = col ? col : x_n + c0 * PQ;
      gemm_strided(isa, k1 - k0, c1 - c0, PQ, 1.0f, {dy + (n * s.K + k0) * PQ, PQ, 1}, {b, 1, PQ},
                   n == 0 ? 0.0f : 1.0f, dw + k0 * CRS + c0, CRS);
    }
  });
}

}  // namespace cudp::cpu
