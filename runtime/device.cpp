// Device names; see device.h.
#include "runtime/device.h"

#include "runtime/cuda_info.h"
#include "runtime/error.h"

namespace cudp {

std::string Device::str() const {
  return std::string(is_cuda() ? "cuda:" : "cpu:") + std::to_string(index);
}

void fail_no_cuda_backend(const char* what) {
  fail(what, ": a CUDA device was given, but this build of cudp has no CUDA backend ",
       "(configured with -DCUDP_CUDA=OFF or without a CUDA compiler)");
}

}  // namespace cudp
