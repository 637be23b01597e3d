// CUDA ReLU forward and backward over n elements (kernels/relu.h).
//
// Versions (relu_*_version; the public ops run the default, v2):
//   v1: one element per loop step, grid-stride.
//   v2: float4 per loop step, grid-stride, when every pointer is 16-byte aligned; the n % 4
//       tail is done by the first threads after the vector loop (v1 runs otherwise).
//
// The decisions a reader would get wrong, both the CPU twin's (and PyTorch's):
//  - forward is `x < 0 ? 0 : x`, so NaN stays NaN; fmaxf(x, 0) would turn it into 0;
//  - backward is `y <= 0 ? 0 : dy` on the forward OUTPUT y: a NaN output passes dy on.
// y may alias x and dx may alias dy: each element is read, then written by the same thread,
// so no pointer here is __restrict__.
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/relu.h"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float relu(float x) { return x < 0.0f ? 0.0f : x; }
__device__ __forceinline__ float relu_grad(float y, float dy) { return y <= 0.0f ? 0.0f : dy; }

__global__ void relu_forward_kernel1(int64_t n, const float* x, float* y) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += step)
    y[i] = relu(x[i]);
}

__global__ void relu_backward_kernel1(int64_t n, const float* y, const float* dy, float* dx) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += step)
    dx[i] = relu_grad(y[i], dy[i]);
}

__global__ void relu_forward_kernel2(int64_t n, const float* x, float* y) {
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t n4 = n / 4;
  for (int64_t v = tid; v < n4; v += step) {
    const float4 f = reinterpret_cast<const float4*>(x)[v];
    reinterpret_cast<float4*>(y)[v] = make_float4(relu(f.x), relu(f.y), relu(f.z), relu(f.w));
  }
  const int64_t i = 4 * n4 + tid;  // the last n % 4 elements
  if (i < n) y[i] = relu(x[i]);
}

__global__ void relu_backward_kernel2(int64_t n, const float* y, const float* dy, float* dx) {
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t n4 = n / 4;
  for (int64_t v = tid; v < n4; v += step) {
    const float4 a = reinterpret_cast<const float4*>(y)[v];
    const float4 g = reinterpret_cast<const float4*>(dy)[v];
    reinterpret_cast<float4*>(dx)[v] = make_float4(relu_grad(a.x, g.x), relu_grad(a.y, g.y),
                                                   relu_grad(a.z, g.z), relu_grad(a.w, g.w));
  }
  const int64_t i = 4 * n4 + tid;
  if (i < n) dx[i] = relu_grad(y[i], dy[i]);
}

void check(int version, int64_t n, const char* op) {
  if (version < 1 || version > relu_versions())
    fail(op, ": version ", version, " does not exist (1..", relu_versions(), ")");
  if (n < 0) fail(op, ": n must be >= 0, found ", n);
}

}  // namespace

int relu_versions() { return 2; }
int relu_default_version() { return 2; }

void relu_forward_version(int version, const Context& ctx, int64_t n, const float* x, float* y) {
  check(version, n, "relu_forward (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  if (version == 2 && cuda_detail::aligned16(x) && cuda_detail::aligned16(y)) {
    relu_forward_kernel2<<<cuda_detail::grid_stride_blocks(ctx.device.index, n / 4 + 1, kThreads),
                           kThreads, 0, stream>>>(n, x, y);
    CUDP_LAUNCH_CHECK("relu_forward_kernel2", stream);
    return;
  }
  relu_forward_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, n, kThreads), kThreads,
                         0, stream>>>(n, x, y);
  CUDP_LAUNCH_CHECK("relu_forward_kernel1", stream);
}

void relu_backward_version(int version, const Context& ctx, int64_t n, const float* y,
                           const float* dy, float* dx) {
  check(version, n, "relu_backward (cuda)");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  if (version == 2 && cuda_detail::aligned16(y) && cuda_detail::aligned16(dy) &&
      cuda_detail::aligned16(dx)) {
    relu_backward_kernel2<<<cuda_detail::grid_stride_blocks(ctx.device.index, n / 4 + 1, kThreads),
                            kThreads, 0, stream>>>(n, y, dy, dx);
    CUDP_LAUNCH_CHECK("relu_backward_kernel2", stream);
    return;
  }
  relu_backward_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, n, kThreads), kThreads,
                          0, stream>>>(n, y, dy, dx);
  CUDP_LAUNCH_CHECK("relu_backward_kernel1", stream);
}

void relu_forward(const Context& ctx, int64_t n, const float* x, float* y) {
  relu_forward_version(relu_default_version(), ctx, n, x, y);
}
void relu_backward(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  relu_backward_version(relu_default_version(), ctx, n, y, dy, dx);
}

}  // namespace cudp::cuda
