#include "kernels/scratch.h"

// The CUDA build defines kernel_scratch_generation() with the allocator
// (kernels/cuda/common.cu); without CUDA no scratch is ever allocated.
#if !CUDP_HAVE_CUDA
namespace cudp {

uint64_t kernel_scratch_generation() { return 0; }

}  // namespace cudp
#endif
