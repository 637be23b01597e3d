// Allocation, filling and synchronizing a context; see memory.h.
//
// CPU memory is 64-byte aligned. The CUDA branches exist only in a CUDA build;
// in a CPU-only build a CUDA device is an error here too (it should never get
// this far: the device parser refuses CUDA specs without a GPU).
#include "runtime/memory.h"

#include <cstdlib>
#include <cstring>

#include "runtime/cuda_info.h"
#include "runtime/error.h"
#if CUDP_HAVE_CUDA
#include "runtime/cuda/shim.h"
#endif

namespace cudp {
namespace {

constexpr std::size_t kCpuAlignment = 64;

}  // namespace

void* device_malloc(Device device, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  if (device.is_cpu()) {
    const std::size_t rounded = (bytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
    void* ptr = std::aligned_alloc(kCpuAlignment, rounded);
    if (ptr == nullptr) fail("cannot allocate ", bytes, " bytes on ", device.str());
    return ptr;
  }
#if CUDP_HAVE_CUDA
  return cuda_shim::malloc_device(device.index, bytes);
#else
  fail_no_cuda_backend("device_malloc");
#endif
}

void device_free(Device device, void* ptr) noexcept {
  if (ptr == nullptr) return;
  if (device.is_cpu()) {
    std::free(ptr);
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::free_device(device.index, ptr);
#endif
}

void fill_bytes(const Context& ctx, void* ptr, int value, std::size_t bytes) {
  if (bytes == 0) return;
  if (ctx.device.is_cpu()) {
    std::memset(ptr, value, bytes);
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::fill(ctx, ptr, value, bytes);
#else
  fail_no_cuda_backend("fill_bytes");
#endif
}

void synchronize(const Context& ctx) {
  if (ctx.device.is_cpu()) return;
#if CUDP_HAVE_CUDA
  cuda_shim::synchronize(ctx);
#else
  fail_no_cuda_backend("synchronize");
#endif
}

}  // namespace cudp
