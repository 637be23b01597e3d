// Run-time CUDA detection for a build WITHOUT the CUDA backend; a CUDA build
// uses runtime/cuda/cuda_info.cpp instead.
#include "runtime/cuda_info.h"

#if !CUDP_HAVE_CUDA
namespace cudp {

bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_unavailable_reason() { return "this build of cudp has no CUDA backend"; }

}  // namespace cudp
#endif
