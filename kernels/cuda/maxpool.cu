// CUDA 2-D max-pooling, NCHW, no padding (kernels/maxpool.h).
//
// Versions (maxpool2d_*_version; the public ops run the default, v2):
//   v1: forward one thread per output; backward one thread per INPUT element, gathering the
//       dy of every window that contains it and picked it (any kernel and stride).
//   v2: for the common kernel = stride = 2 with W % 4 == 0 and 16-byte aligned pointers,
//       each thread takes two neighbouring windows: two float4 input rows in, a float2 of y
//       and an int2 of argmax out (backward: the reverse, dx written as two float4 rows, and
//       the leftover last input row of an odd H zeroed); any other shape runs v1.
//
// Layout: x [N,C,H,W], y and argmax [N,C,P,Q]; a "plane" is one (n, c) and argmax holds
// h*W + w inside its plane, as the CPU twin.
// The decisions a reader would get wrong:
//  - as PyTorch: ties go to the first index in row-major window order (strict >), and a NaN
//    always wins (`v > best || isnan(v)`), so of two NaNs the later one is recorded;
//  - backward overwrites dx and needs no atomics: every dx element is written by exactly one
//    thread, which adds the dy of the windows that chose it in ascending window order, the
//    order in which the CPU twin accumulates, so overlapping windows give the same bits.
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/maxpool.h"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 256;

struct PoolDims {
  int64_t planes, H, W, P, Q, kernel, stride;
};

// One step of the window scan: keeps the first maximum, and any NaN.
__device__ __forceinline__ void take(float v, int index, float& best, int& best_index) {
  if (v > best || isnan(v)) {
    best = v;
    best_index = index;
  }
}

// ---------------------------------------------------------------- v1
__global__ void maxpool2d_forward_kernel1(PoolDims d, const float* __restrict__ x,
                                          float* __restrict__ y, int32_t* __restrict__ argmax) {
  const int64_t total = d.planes * d.P * d.Q;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += step) {
    const int64_t q = i % d.Q, p = (i / d.Q) % d.P, plane = i / (d.P * d.Q);
    const float* in = x + plane * d.H * d.W;
    const int64_t h0 = p * d.stride, w0 = q * d.stride;
    float best = -INFINITY;  // as PyTorch: a window of -inf still reports its first element
    int best_index = static_cast<int>(h0 * d.W + w0);
    for (int64_t h = h0; h < h0 + d.kernel; ++h)
      for (int64_t w = w0; w < w0 + d.kernel; ++w)
        take(in[h * d.W + w], static_cast<int>(h * d.W + w), best, best_index);
    y[i] = best;
    argmax[i] = best_index;
  }
}

__global__ void maxpool2d_backward_kernel1(PoolDims d, const float* __restrict__ dy,
                                           const int32_t* __restrict__ argmax,
                                           float* __restrict__ dx) {
  const int64_t total = d.planes * d.H * d.W;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += step) {
    const int64_t w = i % d.W, h = (i / d.W) % d.H, plane = i / (d.H * d.W);
    // Windows p with p*stride <= h <= p*stride + kernel - 1, clipped to [0, P).
    const int64_t p_lo = h < d.kernel ? 0 : (h - d.kernel) / d.stride + 1;
    const int64_t p_hi = min(h / d.stride, d.P - 1);
    const int64_t q_lo = w < d.kernel ? 0 : (w - d.kernel) / d.stride + 1;
    const int64_t q_hi = min(w / d.stride, d.Q - 1);
    const int32_t self = static_cast<int32_t>(h * d.W + w);
    const int64_t base = plane * d.P * d.Q;
    float sum = 0.0f;
    for (int64_t p = p_lo; p <= p_hi; ++p)
      for (int64_t q = q_lo; q <= q_hi; ++q)
        if (argmax[base + p * d.Q + q] == self) sum += dy[base + p * d.Q + q];
    dx[i] = sum;
  }
}

// ---------------------------------------------------------------- v2: 2x2, stride 2
// A unit is two neighbouring windows (p, 2u) and (p, 2u+1): input rows 2p and 2p+1, columns
// 4u .. 4u+3. Q = W/2 is even, so a unit never straddles two output rows.
__global__ void maxpool2d_forward_kernel2(PoolDims d, const float* __restrict__ x,
                                          float* __restrict__ y, int32_t* __restrict__ argmax) {
  const int64_t units_per_row = d.Q / 2, total = d.planes * d.P * units_per_row;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += step) {
    const int64_t u = i % units_per_row, p = (i / units_per_row) % d.P;
    const int64_t plane = i / (units_per_row * d.P);
    const int64_t h = 2 * p, w = 4 * u;
    const float* in = x + plane * d.H * d.W + h * d.W + w;
    const float4 top = *reinterpret_cast<const float4*>(in);
    const float4 bottom = *reinterpret_cast<const float4*>(in + d.W);
    const int t = static_cast<int>(h * d.W + w), b = t + static_cast<int>(d.W);
    // Row-major window order: top-left, top-right, bottom-left, bottom-right.
    float best0 = -INFINITY, best1 = -INFINITY;
    int index0 = t, index1 = t + 2;
    take(top.x, t, best0, index0);
    take(top.y, t + 1, best0, index0);
    take(bottom.x, b, best0, index0);
    take(bottom.y, b + 1, best0, index0);
    take(top.z, t + 2, best1, index1);
    take(top.w, t + 3, best1, index1);
    take(bottom.z, b + 2, best1, index1);
    take(bottom.w, b + 3, best1, index1);
    const int64_t out = plane * d.P * d.Q + p * d.Q + 2 * u;  // even: 8-byte aligned
    *reinterpret_cast<float2*>(y + out) = make_float2(best0, best1);
    *reinterpret_cast<int2*>(argmax + out) = make_int2(index0, index1);
  }
}

__global__ void maxpool2d_backward_kernel2(PoolDims d, const float* __restrict__ dy,
                                           const int32_t* __restrict__ argmax,
                                           float* __restrict__ dx) {
  const int64_t units_per_row = d.Q / 2, units = d.planes * d.P * units_per_row;
  // An odd H leaves input row H-1 outside every window: W/4 float4 of zeros per plane.
  const int64_t tail = (d.H % 2 == 1) ? d.planes * (d.W / 4) : 0;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < units + tail;
       i += step) {
    if (i >= units) {
      const int64_t j = i - units, plane = j / (d.W / 4), v = j % (d.W / 4);
      float* row = dx + plane * d.H * d.W + (d.H - 1) * d.W;
      reinterpret_cast<float4*>(row)[v] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      continue;
    }
    const int64_t u = i % units_per_row, p = (i / units_per_row) % d.P;
    const int64_t plane = i / (units_per_row * d.P);
    const int64_t h = 2 * p, w = 4 * u;
    const int64_t out = plane * d.P * d.Q + p * d.Q + 2 * u;
    const float2 g = *reinterpret_cast<const float2*>(dy + out);
    const int2 a = *reinterpret_cast<const int2*>(argmax + out);
    const int t = static_cast<int>(h * d.W + w), b = t + static_cast<int>(d.W);
    // 0.0f + g, not g: the CPU twin adds dy into a zeroed dx, which turns -0 into +0.
    auto pick = [](int self, int winner, float grad) {
      return self == winner ? 0.0f + grad : 0.0f;
    };
    float* row = dx + plane * d.H * d.W + h * d.W + w;
    *reinterpret_cast<float4*>(row) = make_float4(pick(t, a.x, g.x), pick(t + 1, a.x, g.x),
                                                  pick(t + 2, a.y, g.y), pick(t + 3, a.y, g.y));
    *reinterpret_cast<float4*>(row + d.W) = make_float4(
        pick(b, a.x, g.x), pick(b + 1, a.x, g.x), pick(b + 2, a.y, g.y), pick(b + 3, a.y, g.y));
  }
}

PoolDims make_dims(const MaxPool2dShape& s) {
  return PoolDims{s.N * s.C, s.H, s.W, s.P(), s.Q(), s.kernel, s.stride};
}

// v2's fast path: 2x2 windows, stride 2, whole float4 rows, aligned pointers.
bool fast_path(const MaxPool2dShape& s, const void* a, const void* b, const void* c) {
  return s.kernel == 2 && s.stride == 2 && s.W % 4 == 0 && cuda_detail::aligned16(a) &&
         cuda_detail::aligned16(b) && cuda_detail::aligned16(c);
}

void check_version(int version, const char* op) {
  if (version < 1 || version > maxpool2d_versions())
    fail(op, ": version ", version, " does not exist (1..", maxpool2d_versions(), ")");
}

}  // namespace

int maxpool2d_versions() { return 2; }
int maxpool2d_default_version() { return 2; }

void maxpool2d_forward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                               const float* x, float* y, int32_t* argmax) {
  check_version(version, "maxpool2d_forward (cuda)");
  check_maxpool2d_shape(s, "maxpool2d_forward (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  const PoolDims d = make_dims(s);
  if (version == 2 && fast_path(s, x, y, argmax)) {
    const int64_t units = d.planes * d.P * (d.Q / 2);
    maxpool2d_forward_kernel2<<<cuda_detail::grid_stride_blocks(ctx.device.index, units, kThreads),
                                kThreads, 0, stream>>>(d, x, y, argmax);
    CUDP_LAUNCH_CHECK("maxpool2d_forward_kernel2", stream);
    return;
  }
  maxpool2d_forward_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, s.y_size(),
                                                              kThreads),
                              kThreads, 0, stream>>>(d, x, y, argmax);
  CUDP_LAUNCH_CHECK("maxpool2d_forward_kernel1", stream);
}

void maxpool2d_backward_version(int version, const Context& ctx, const MaxPool2dShape& s,
                                const float* dy, const int32_t* argmax, float* dx) {
  check_version(version, "maxpool2d_backward (cuda)");
  check_maxpool2d_shape(s, "maxpool2d_backward (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  const PoolDims d = make_dims(s);
  if (version == 2 && fast_path(s, dy, argmax, dx)) {
    const int64_t work = d.planes * d.P * (d.Q / 2) + (d.H % 2 == 1 ? d.planes * (d.W / 4) : 0);
    maxpool2d_backward_kernel2<<<cuda_detail::grid_stride_blocks(ctx.device.index, work, kThreads),
                                 kThreads, 0, stream>>>(d, dy, argmax, dx);
    CUDP_LAUNCH_CHECK("maxpool2d_backward_kernel2", stream);
    return;
  }
  maxpool2d_backward_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, s.x_size(),
                                                               kThreads),
                               kThreads, 0, stream>>>(d, dy, argmax, dx);
  CUDP_LAUNCH_CHECK("maxpool2d_backward_kernel1", stream);
}

void maxpool2d_forward(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                       int32_t* argmax) {
  maxpool2d_forward_version(maxpool2d_default_version(), ctx, s, x, y, argmax);
}
void maxpool2d_backward(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                        const int32_t* argmax, float* dx) {
  maxpool2d_backward_version(maxpool2d_default_version(), ctx, s, dy, argmax, dx);
}

}  // namespace cudp::cuda
