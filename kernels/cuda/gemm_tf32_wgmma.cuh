// The entry of tf32 GEMM v2 (wgmma, kernels/cuda/gemm_tf32_wgmma.cu), which
// gemm_tf32_version calls after its argument checks with M, N > 0. That file is compiled
// for sm_90a alone (kernels/CMakeLists.txt): wgmma exists in no other image.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/gemm.h"

namespace cudp::cuda {

void gemm_tf32_wgmma(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M,
                     int64_t N, int64_t K, float alpha, const float* A, const float* B,
                     float beta, float* C);

}  // namespace cudp::cuda
