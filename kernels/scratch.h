// How many times the CUDA kernels' scratch buffers (kernels/cuda/common.cuh) have been
// reallocated in this process, on any GPU: a CUDA graph that captured scratch pointers
// is stale once this has changed (parallel/step_graph.h). Always 0 in a CPU-only build.
#pragma once

#include <cstdint>

namespace cudp {

uint64_t kernel_scratch_generation();

}  // namespace cudp
