// conv2d on the packed GEMM: the driver behind conv2d v2 and v3 (internal; the op
// contract is kernels/conv2d.h, the version list kernels/cpu/versions.h).
//
//   v2  conv2d_*_packed(ctx, CpuIsa::Avx2, ...)    per sample: row-copy im2col into a
//                                                  per-thread buffer + gemm_strided on the
//                                                  AVX2 micro-kernel (GEMM v2's); ctx.threads
//                                                  threads over the batch (forward,
//                                                  backward-data) or over blocks of dw
//                                                  (backward-weight)
//   v3  conv2d_*_packed(ctx, CpuIsa::Avx512, ...)  the same on GEMM v3's AVX-512 micro-kernel
// conv2d.cpp holds v1 and the dispatcher; the default is v3 where active_cpu_isa()
// is AVX-512, else v2, as for the GEMM.
//
// The decision a reader would get wrong: v2 is bitwise identical for every
// thread count, backward-weight included: its threads split dw (the output),
// never the batch, and every dw element sums the samples in order 0..N-1. v2 and
// v3 are bitwise identical too, as GEMM v2 and v3 are (gemm_packed.h).
#pragma once

#include "kernels/conv2d.h"
#include "kernels/cpu/gemm_packed.h"

namespace cudp::cpu {

void conv2d_forward_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s, const float* x,
                           const float* w, float* y);
void conv2d_backward_data_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s,
                                 const float* dy, const float* w, float* dx);
void conv2d_backward_weight_packed(const Context& ctx, CpuIsa isa, const Conv2dShape& s,
                                   const float* x, const float* dy, float* dw);

}  // namespace cudp::cpu
