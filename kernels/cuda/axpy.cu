// CUDA level-1 ops over flat buffers (kernels/axpy.h): y = y + alpha * x, x = alpha * x.
//
// One kernel each: float4 per grid-stride step when the pointers are 16-byte aligned (the
// n % 4 tail after the vector loop), one float per step otherwise.
// The decisions a reader would get wrong: axpy is written with __fmul_rn / __fadd_rn so that
// nvcc does not fuse it into an FMA: it then rounds exactly as the CPU twin (y + alpha * x,
// two roundings; cpu/axpy.cpp is compiled with -ffp-contract=off, kernels/CMakeLists.txt),
// and the gradient reductions give the same bits on either backend. As IEEE arithmetic,
// alpha == 0 does not clear a NaN (0 * NaN is NaN).
#include <cuda_runtime.h>

#include "kernels/axpy.h"
#include "kernels/cuda/common.cuh"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float axpy1(float alpha, float x, float y) {
  return __fadd_rn(y, __fmul_rn(alpha, x));
}

template <bool kVec>
__global__ void axpy_kernel(int64_t n, float alpha, const float* x, float* y) {
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if constexpr (kVec) {
    const int64_t n4 = n / 4;
    for (int64_t v = tid; v < n4; v += step) {
      const float4 a = reinterpret_cast<const float4*>(x)[v];
      float4 b = reinterpret_cast<float4*>(y)[v];
      b = make_float4(axpy1(alpha, a.x, b.x), axpy1(alpha, a.y, b.y), axpy1(alpha, a.z, b.z),
                      axpy1(alpha, a.w, b.w));
      reinterpret_cast<float4*>(y)[v] = b;
    }
    done = 4 * n4;
  }
  for (int64_t i = done + tid; i < n; i += step) y[i] = axpy1(alpha, x[i], y[i]);
}

// alpha_at, when given, replaces alpha: read when the kernel runs (scale_by, graph replays).
template <bool kVec>
__global__ void scale_kernel(int64_t n, float alpha, const float* alpha_at, float* x) {
  if (alpha_at != nullptr) alpha = *alpha_at;
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if constexpr (kVec) {
    const int64_t n4 = n / 4;
    for (int64_t v = tid; v < n4; v += step) {
      const float4 a = reinterpret_cast<const float4*>(x)[v];
      reinterpret_cast<float4*>(x)[v] =
          make_float4(alpha * a.x, alpha * a.y, alpha * a.z, alpha * a.w);
    }
    done = 4 * n4;
  }
  for (int64_t i = done + tid; i < n; i += step) x[i] = alpha * x[i];
}

}  // namespace

void axpy(const Context& ctx, int64_t n, float alpha, const float* x, float* y) {
  if (n < 0) fail("axpy (cuda): n must be >= 0, found ", n);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  if (cuda_detail::aligned16(x) && cuda_detail::aligned16(y)) {
    axpy_kernel<true><<<cuda_detail::grid_stride_blocks(ctx.device.index, n / 4 + 1, kThreads),
                        kThreads, 0, stream>>>(n, alpha, x, y);
  } else {
    axpy_kernel<false>
        <<<cuda_detail::grid_stride_blocks(ctx.device.index, n, kThreads), kThreads, 0, stream>>>(
            n, alpha, x, y);
  }
  CUDP_LAUNCH_CHECK("axpy_kernel", stream);
}

namespace {
void launch_scale(const Context& ctx, int64_t n, float alpha, const float* alpha_at, float* x) {
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  if (cuda_detail::aligned16(x)) {
    scale_kernel<true><<<cuda_detail::grid_stride_blocks(ctx.device.index, n / 4 + 1, kThreads),
                         kThreads, 0, stream>>>(n, alpha, alpha_at, x);
  } else {
    scale_kernel<false>
        <<<cuda_detail::grid_stride_blocks(ctx.device.index, n, kThreads), kThreads, 0, stream>>>(
            n, alpha, alpha_at, x);
  }
  CUDP_LAUNCH_CHECK("scale_kernel", stream);
}
}  // namespace

void scale(const Context& ctx, int64_t n, float alpha, float* x) {
  if (n < 0) fail("scale (cuda): n must be >= 0, found ", n);
  launch_scale(ctx, n, alpha, nullptr, x);
}

void scale_by(const Context& ctx, int64_t n, const float* alpha, float* x) {
  if (n < 0) fail("scale_by (cuda): n must be >= 0, found ", n);
  if (alpha == nullptr) fail("scale_by (cuda): expected a device pointer to the factor, found null");
  launch_scale(ctx, n, 0.0f, alpha, x);
}

}  // namespace cudp::cuda
