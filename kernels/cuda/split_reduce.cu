#include "kernels/cuda/split_reduce.cuh"

#include "kernels/cuda/common.cuh"

namespace cudp::cuda_detail {
namespace {

__global__ void reduce_splits_kernel(const float* __restrict__ partial, int splits, int64_t count,
                                     float alpha, float beta, float* __restrict__ C) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += step) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partial[s * count + i];
    C[i] = beta == 0.0f ? alpha * sum : alpha * sum + beta * C[i];
  }
}

}  // namespace

void reduce_splits(const Context& ctx, cudaStream_t stream, const float* partial, int splits,
                   int64_t count, float alpha, float beta, float* C) {
  constexpr int kThreads = 256;
  reduce_splits_kernel<<<grid_stride_blocks(ctx.device.index, count, kThreads), kThreads, 0,
                         stream>>>(partial, splits, count, alpha, beta, C);
  CUDP_LAUNCH_CHECK("reduce_splits_kernel", stream);
}

}  // namespace cudp::cuda_detail
