// Run-time CUDA detection for the CUDA build; see cuda_info.h.
#include "runtime/cuda_info.h"

#include <cuda_runtime_api.h>

namespace cudp {
namespace {

struct Probe {
  int count = 0;
  std::string reason;
};

const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    int count = 0;  // cudaGetDeviceCount leaves it untouched on failure
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      p.count = 0;
      p.reason = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
      cudaGetLastError();  // clear the sticky-free error so later calls start clean
    } else {
      p.count = count;
      if (count == 0) p.reason = "the CUDA runtime found no device";
    }
    return p;
  }();
  return result;
}

}  // namespace

bool cuda_built() { return true; }
int cuda_device_count() { return probe().count; }
std::string cuda_unavailable_reason() { return probe().reason; }

}  // namespace cudp
