// Execution context: the first argument of every op, on every backend.
//
// It says where the op's pointers live and on which stream its work is queued.
// On a CUDA device `stream` is a cudaStream_t (nullptr is the legacy default
// stream); on a CPU device the op runs in the calling thread, which is the CPU
// device's stream worker once the parallel layer exists, and `threads` is how
// many threads the op may use. `math` is the arithmetic GEMM and convolution may
// use (runtime/math.h); other ops ignore it. The CUDA type is forward-declared so that this
// header never pulls in the CUDA runtime.
#pragma once

#include "runtime/device.h"
#include "runtime/math.h"

struct CUstream_st;

namespace cudp {

using CudaStream = CUstream_st*;

struct Context {
  Device device;
  CudaStream stream = nullptr;
  int threads = 1;
  Math math = Math::fp32;
};

inline Context cpu_context(int threads = 1) { return Context{cpu_device(0), nullptr, threads}; }

// Waits until all work queued on ctx's stream is done (no-op on CPU devices).
void synchronize(const Context& ctx);

}  // namespace cudp
