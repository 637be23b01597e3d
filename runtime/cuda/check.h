// The CUDA error vocabulary: one check macro, one launch check.
//
//   CUDP_CUDA_CHECK(cudaMalloc(&p, n));   throws cudp::Error with file, line,
//                                          the expression and CUDA's message
//   kernel<<<grid, block, 0, stream>>>(...);
//   CUDP_LAUNCH_CHECK("gemm_kernel4", stream);
// The launch check catches bad launch configurations at once. With the
// environment variable CUDP_SYNC_DEBUG=1 it also synchronizes the stream, so an
// asynchronous fault (an illegal address) is reported with its kernel's name.
// Only .cu files and runtime/cuda/*.cpp include this header.
#pragma once

#include <cuda_runtime_api.h>

#include "runtime/error.h"

namespace cudp::cuda_detail {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* expression, const char* file,
                                   int line);
void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line);
bool sync_debug_enabled();  // CUDP_SYNC_DEBUG=1, read once

}  // namespace cudp::cuda_detail

#define CUDP_CUDA_CHECK(expr)                                                       \
  do {                                                                              \
    cudaError_t cudp_status_ = (expr);                                              \
    if (cudp_status_ != cudaSuccess)                                                \
      ::cudp::cuda_detail::throw_cuda_error(cudp_status_, #expr, __FILE__, __LINE__); \
  } while (0)

#define CUDP_LAUNCH_CHECK(kernel_name, stream) \
  ::cudp::cuda_detail::check_launch(kernel_name, stream, __FILE__, __LINE__)
