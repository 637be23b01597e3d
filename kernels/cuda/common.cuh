// Helpers shared by the CUDA kernels of kernels/cuda/: launch sizing, alignment
// tests, fast integer division, and the per-stream scratch buffer.
//
// Only kernels/cuda/*.cu include this header.
//
// The decisions a reader would get wrong:
//  - grid-stride loops are sized from the multiprocessor count (a few resident
//    blocks per SM), not from n: a 64M-element buffer is then walked by a grid
//    that fits the GPU once, and n == 0 launches nothing;
//  - scratch memory is cached per (GPU, stream, calling host thread) and only
//    grows. It is shared by every op that thread runs on that stream, which is
//    safe because ops on one stream run in order; two streams never share one,
//    nor two host threads (common.cu says why). Growing synchronizes the stream
//    and reallocates, so a training step allocates only while it warms up
//    (capture a CUDA graph only after a warm-up step). The buffers live until
//    the process exits (they are never freed: the CUDA runtime may already be
//    torn down when static destructors run).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "runtime/context.h"
#include "runtime/cuda/check.h"

namespace cudp::cuda_detail {

// Makes ctx's GPU current and returns its stream (every op starts with this).
inline cudaStream_t begin_op(const Context& ctx) {
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  return reinterpret_cast<cudaStream_t>(ctx.stream);
}

int multiprocessor_count(int device);  // cached per device

// Blocks for a grid-stride loop over `work` items with `threads` per block:
// enough to cover the work, at most `per_sm` blocks per multiprocessor.
inline unsigned grid_stride_blocks(int device, int64_t work, int threads, int per_sm = 8) {
  const int64_t needed = (work + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(multiprocessor_count(device)) * per_sm;
  const int64_t blocks = needed < cap ? needed : cap;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

__host__ __device__ inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// At least `bytes` of device memory on ctx's GPU, private to ctx's stream and the
// calling host thread; see the file comment for its lifetime. Not for use by two
// ops at once.
void* scratch(const Context& ctx, std::size_t bytes);

// Division and remainder by a divisor fixed at launch, without a hardware
// divide: q = umulhi(n, multiplier) >> shift (Granlund-Montgomery; exact for
// every 0 <= n < 2^31 and 1 <= divisor < 2^31). Conv index decoding runs this
// in the inner loops, where `/` would cost ~20 instructions.
struct FastDivmod {
  uint32_t divisor = 1, multiplier = 0, shift = 0;

  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    // shift = ceil(log2(d)); multiplier = floor(2^32 * (2^shift - d) / d) + 1.
    while ((uint64_t{1} << shift) < d) ++shift;
    multiplier =
        static_cast<uint32_t>(((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1);
  }
  __device__ __forceinline__ int div(int n) const {
    if (divisor == 1) return n;  // shift would be 0 and the formula below needs shift >= 1
    const uint32_t t = __umulhi(static_cast<uint32_t>(n), multiplier);
    return static_cast<int>((t + ((static_cast<uint32_t>(n) - t) >> 1)) >> (shift - 1));
  }
  // q = n / divisor, r = n % divisor.
  __device__ __forceinline__ void divmod(int n, int& q, int& r) const {
    q = div(n);
    r = n - q * static_cast<int>(divisor);
  }
};

}  // namespace cudp::cuda_detail
