// See memory_cuda.h.
//
// Every call first makes the context's GPU current: with several logical
// devices on several GPUs, the current device is whatever the last caller set.
#include "runtime/cuda/memory_cuda.h"

#include <cuda_runtime_api.h>

#include "runtime/cuda/check.h"

namespace cudp::cuda_detail {

void* cuda_malloc(int device, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  CUDP_CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status != cudaSuccess)
    fail("cannot allocate ", bytes, " bytes on cuda:", device, ": ", cudaGetErrorString(status));
  return ptr;
}

void cuda_free(int device, void* ptr) noexcept {
  if (ptr == nullptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);  // a destructor never throws; a failing free is reported by the next call
}

void cuda_copy(const Context& ctx, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if (ctx.device.is_cuda()) {
    CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
    CUDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, ctx.stream));
  } else {
    // A CPU context has no CUDA stream: the copy completes before returning.
    CUDP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
  }
}

void cuda_fill(const Context& ctx, void* ptr, int value, std::size_t bytes) {
  if (bytes == 0) return;
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  CUDP_CUDA_CHECK(cudaMemsetAsync(ptr, value, bytes, ctx.stream));
}

void cuda_synchronize(const Context& ctx) {
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  CUDP_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
}

}  // namespace cudp::cuda_detail
