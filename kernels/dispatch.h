// How an op header routes a call to its backend.
//
// Every op in kernels/ is declared three times with one signature: in
// namespace cpu (kernels/cpu/<op>.cpp, the specification), in namespace cuda
// (kernels/cuda/<op>.cu) and as the public inline function that picks one by
// ctx.device.kind. In a CPU-only build the CUDA branch throws instead of
// referring to symbols that were never compiled.
#pragma once

#include "runtime/context.h"
#include "runtime/cuda_info.h"  // fail_no_cuda_backend
#include "runtime/error.h"

#if CUDP_HAVE_CUDA
#define CUDP_DISPATCH(ctx, op, ...) \
  ((ctx).device.is_cuda() ? ::cudp::cuda::op(ctx, __VA_ARGS__) : ::cudp::cpu::op(ctx, __VA_ARGS__))
#else
#define CUDP_DISPATCH(ctx, op, ...) \
  ((ctx).device.is_cuda() ? ::cudp::fail_no_cuda_backend(#op) : ::cudp::cpu::op(ctx, __VA_ARGS__))
#endif

// Declares `op` with the given parameter list in namespaces cpu and cuda.
#define CUDP_DECLARE_OP(op, ...)            \
  namespace cpu {                           \
  void op(const Context& ctx, __VA_ARGS__); \
  }                                         \
  namespace cuda {                          \
  void op(const Context& ctx, __VA_ARGS__); \
  }
