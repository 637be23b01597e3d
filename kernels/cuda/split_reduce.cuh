// The second pass of a split-K kernel (the tf32 GEMM and convolution): the splits'
// partial sums added in split order, so the result is the same from run to run (no
// atomics), then C = alpha * sum + beta * C with beta == 0 never reading C.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "runtime/context.h"

namespace cudp::cuda_detail {

// How a split-K kernel divides its k-tiles: enough splits that `tiles` output tiles make
// about blocks_per_sm blocks per multiprocessor, each split at least min_depth k-tiles deep,
// at most 65535 (gridDim.y), and no split empty. splits == 1 when the outputs fill the GPU.
// A kernel that indexes its partial buffer in 32 bits passes its output's element count:
// splits then stay few enough that splits * outputs < 2^31.
struct SplitK {
  int splits, tiles_per_split;
};
SplitK plan_split_k(const Context& ctx, int64_t tiles, int k_tiles, int blocks_per_sm,
                    int min_depth = 4, int64_t int32_outputs = 0);

// partial holds `splits` blocks of `count` floats; queues the reduction on `stream`.
void reduce_splits(const Context& ctx, cudaStream_t stream, const float* partial, int splits,
                   int64_t count, float alpha, float beta, float* C);

}  // namespace cudp::cuda_detail
