// CUDA bias add and bias gradient over a [N, K, inner] tensor (kernels/bias.h).
//
// Layout: conv2d's output [N,K,P,Q] is inner = P*Q; Linear's [N,K] is inner = 1; element
// (n, k, i) is at (n*K + k)*inner + i, so its channel is (index / inner) % K.
//   bias_add_kernel: grid-stride over the tensor, float4 when inner % 4 == 0 (a float4 then
//                    never straddles two channels) and y is 16-byte aligned.
//   bias_grad_kernel: one block per channel k; each thread sums its strided share of the
//                    N*inner elements in double, then a CUB block reduction adds the threads.
// The decisions a reader would get wrong: bias_grad OVERWRITES db, and it is deterministic
// (fixed assignment of elements to threads, fixed reduction tree: no atomics); it sums in
// double like the CPU twin, because a conv bias gathers N*P*Q terms.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include "kernels/bias.h"
#include "kernels/cuda/common.cuh"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kGradThreads = 512;

__global__ void bias_add_kernel(int64_t total, int64_t K, int64_t inner,
                                const float* __restrict__ b, float* __restrict__ y) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += step)
    y[i] += b[(i / inner) % K];
}

// float4 version: v indexes float4s; 4v is the first element's index.
__global__ void bias_add_kernel_vec4(int64_t total4, int64_t K, int64_t inner,
                                     const float* __restrict__ b, float4* __restrict__ y) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; v < total4;
       v += step) {
    const float bias = b[(4 * v / inner) % K];
    float4 f = y[v];
    f.x += bias;
    f.y += bias;
    f.z += bias;
    f.w += bias;
    y[v] = f;
  }
}

__global__ void __launch_bounds__(kGradThreads)
    bias_grad_kernel(int64_t N, int64_t K, int64_t inner, const float* __restrict__ dy,
                     float* __restrict__ db) {
  using BlockReduce = cub::BlockReduce<double, kGradThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  const int64_t k = blockIdx.x;
  double sum = 0.0;
  if (inner >= kGradThreads / 4) {  // threads walk along a (n, k) row: coalesced
    for (int64_t n = 0; n < N; ++n) {
      const float* row = dy + (n * K + k) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += kGradThreads) sum += row[i];
    }
  } else {  // short rows (Linear: inner = 1): threads walk along n
    const int64_t count = N * inner;
    for (int64_t e = threadIdx.x; e < count; e += kGradThreads) {
      const int64_t n = e / inner, i = e % inner;
      sum += dy[(n * K + k) * inner + i];
    }
  }
  const double total = BlockReduce(temp).Sum(sum);
  if (threadIdx.x == 0) db[k] = static_cast<float>(total);
}

}  // namespace

void bias_add(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b, float* y) {
  if (N < 0 || K < 0 || inner < 0)
    fail("bias_add (cuda): sizes must be >= 0, found N = ", N, ", K = ", K, ", inner = ", inner);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  const int64_t total = N * K * inner;
  if (total == 0) return;
  if (inner % 4 == 0 && cuda_detail::aligned16(y)) {
    bias_add_kernel_vec4<<<cuda_detail::grid_stride_blocks(ctx.device.index, total / 4, kThreads),
                           kThreads, 0, stream>>>(total / 4, K, inner, b,
                                                  reinterpret_cast<float4*>(y));
    CUDP_LAUNCH_CHECK("bias_add_kernel_vec4", stream);
  } else {
    bias_add_kernel<<<cuda_detail::grid_stride_blocks(ctx.device.index, total, kThreads), kThreads,
                      0, stream>>>(total, K, inner, b, y);
    CUDP_LAUNCH_CHECK("bias_add_kernel", stream);
  }
}

void bias_grad(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
               float* db) {
  if (N < 0 || K < 0 || inner < 0)
    fail("bias_grad (cuda): sizes must be >= 0, found N = ", N, ", K = ", K, ", inner = ", inner);
  if (K > 0x7fffffff) fail("bias_grad (cuda): K = ", K, " channels exceed one grid");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (K == 0) return;
  // N * inner == 0 still launches: db must be overwritten with zeros.
  bias_grad_kernel<<<static_cast<unsigned>(K), kGradThreads, 0, stream>>>(N, K, inner, dy, db);
  CUDP_LAUNCH_CHECK("bias_grad_kernel", stream);
}

}  // namespace cudp::cuda
