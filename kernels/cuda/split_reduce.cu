#include "kernels/cuda/split_reduce.cuh"

#include <algorithm>

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

SplitK plan_split_k(const Context& ctx, int64_t tiles, int k_tiles, int blocks_per_sm,
                    int min_depth, int64_t int32_outputs) {
  const int64_t target =
      static_cast<int64_t>(blocks_per_sm) * multiprocessor_count(ctx.device.index);
  int64_t want = std::min<int64_t>({ceil_div(target, std::max<int64_t>(tiles, 1)),
                                    int64_t{k_tiles / min_depth}, int64_t{65535}});
  if (int32_outputs > 0)
    while (want > 1 && want * int32_outputs > 0x7fffffff) --want;
  const int splits = static_cast<int>(std::max<int64_t>(want, 1));
  const int per_split = std::max(1, static_cast<int>(ceil_div(k_tiles, splits)));
  return {std::max(1, static_cast<int>(ceil_div(k_tiles, per_split))), per_split};
}

void reduce_splits(const Context& ctx, cudaStream_t stream, const float* partial, int splits,
                   int64_t count, float alpha, float beta, float* C) {
  constexpr int kThreads = 256;
  reduce_splits_kernel<<<grid_stride_blocks(ctx.device.index, count, kThreads), kThreads, 0,
                         stream>>>(partial, splits, count, alpha, beta, C);
  CUDP_LAUNCH_CHECK("reduce_splits_kernel", stream);
}

}  // namespace cudp::cuda_detail
