// CUDA side of runtime/memory.h; only runtime/*.cpp call these.
#pragma once

#include <cstddef>

#include "runtime/context.h"

namespace cudp::cuda_detail {

void* cuda_malloc(int device, std::size_t bytes);
void cuda_free(int device, void* ptr) noexcept;
// Copies between any two devices, at least one of them a GPU (cudaMemcpyDefault
// under unified addressing), queued on ctx's stream when ctx is a CUDA device.
void cuda_copy(const Context& ctx, void* dst, const void* src, std::size_t bytes);
void cuda_fill(const Context& ctx, void* ptr, int value, std::size_t bytes);
void cuda_synchronize(const Context& ctx);

}  // namespace cudp::cuda_detail
