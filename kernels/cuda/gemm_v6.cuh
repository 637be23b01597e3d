// Internal entry points between kernels/cuda/gemm.cu (versions 1..5, the dispatcher) and
// kernels/cuda/gemm_v6.cu (version 6). Only those two files include this header; tests and
// benchmarks reach v6 through gemm_version(6, ...) in kernels/cuda/versions.h.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/gemm.h"
#include "runtime/context.h"

namespace cudp::cuda::gemm_detail {

// v6: C = alpha * op(A) op(B) + beta * C on `stream` (ctx's GPU already current).
void gemm_v6(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M, int64_t N,
             int64_t K, float alpha, const float* A, const float* B, float beta, float* C);

// Split-K's second pass (v5 and v6): C[i] = alpha * sum over s < splits, in order, of
// partial[s * count + i], plus beta * C[i] (C not read when beta == 0).
void gemm_split_reduce(const Context& ctx, cudaStream_t stream, const float* partial, int splits,
                       int64_t count, float alpha, float beta, float* C);

}  // namespace cudp::cuda::gemm_detail
