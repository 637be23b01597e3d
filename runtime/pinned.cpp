// Pinned host memory (see pinned.h): cudaMallocHost through the CUDA shim when
// a GPU is there to use it, 64-byte aligned host memory otherwise (a CPU-only
// build, as runtime/cuda_info_cpu.cpp stubs the queries, or no GPU at run time).
#include "runtime/pinned.h"

#include <cstdlib>

#include "runtime/cuda_info.h"
#include "runtime/error.h"
#if CUDP_HAVE_CUDA
#include "runtime/cuda/shim.h"
#endif

namespace cudp {
namespace {
constexpr std::size_t kAlignment = 64;
}  // namespace

void* pinned_malloc(std::size_t bytes, bool* pinned) {
  *pinned = false;
  if (bytes == 0) return nullptr;
#if CUDP_HAVE_CUDA
  if (cuda_device_count() > 0) {
    *pinned = true;
    return cuda_shim::malloc_host(bytes);
  }
#endif
  const std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* ptr = std::aligned_alloc(kAlignment, rounded);
  if (ptr == nullptr) fail("cannot allocate ", bytes, " bytes of host memory");
  return ptr;
}

void pinned_free(void* ptr, bool pinned) noexcept {
  if (ptr == nullptr) return;
#if CUDP_HAVE_CUDA
  if (pinned) return cuda_shim::free_host(ptr);
#endif
  (void)pinned;
  std::free(ptr);
}

}  // namespace cudp
