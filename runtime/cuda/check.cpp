// See check.h.
#include "runtime/cuda/check.h"

#include <cstdlib>
#include <cstring>

#include "runtime/graph.h"

namespace cudp::cuda_detail {

void throw_cuda_error(cudaError_t status, const char* expression, const char* file, int line) {
  fail(file, ":", line, ": ", expression, " failed: ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")");
}

bool sync_debug_enabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("CUDP_SYNC_DEBUG");
    return value != nullptr && std::strcmp(value, "0") != 0 && value[0] != '\0';
  }();
  return enabled;
}

void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail(file, ":", line, ": launch of ", kernel, " failed: ", cudaGetErrorName(status), " (",
         cudaGetErrorString(status), ")");
  // Not while capturing a CUDA graph: a capture runs nothing, and a synchronize would end it.
  if (sync_debug_enabled() && !StreamGraph::capturing(reinterpret_cast<CudaStream>(stream))) {
    status = cudaStreamSynchronize(stream);
    if (status != cudaSuccess)
      fail(file, ":", line, ": ", kernel, " faulted (CUDP_SYNC_DEBUG=1): ",
           cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
  }
}

}  // namespace cudp::cuda_detail
