// Internal to the packed CPU GEMM (v2/v3): micro-kernels and the packing routines.
//
// Packed layouts (what a micro-kernel reads, 64-byte aligned):
//   A micro-panel  rows x kc,  a[k * rows + i]  = op(A)(i0 + i, p0 + k)
//   B micro-panel  kc x cols,  b[k * cols + j]  = op(B)(p0 + k, j0 + j)
// Panels at the bottom/right edge are zero-padded to the full rows/cols, so
// the micro-kernel only ever sees full tiles. A row-major B with few rows of A
// to serve may be read in place instead (gemm_packed.cpp): same values, same order.
//
// The contract every micro-kernel keeps (and why v2 == v3 bit for bit):
//   acc(i,j) = 0; for k in 0..kc-1: acc(i,j) = fma(a[k*rows+i], b[k*cols+j], acc(i,j))
//   beta == 0:  c(i,j) = alpha * acc(i,j)               (C is not read)
//   otherwise:  c(i,j) = fma(alpha, acc(i,j), beta * c(i,j))
#pragma once

#include <cstdint>

#include "kernels/cpu/gemm_packed.h"

namespace cudp::cpu {

// c points at the tile's (0,0) in C, rows ldc apart; a is a packed micro-panel;
// b's k-th row of `cols` floats is at b + k * ldb (ldb = cols for a packed
// micro-panel, or B's row stride when the GEMM reads a row-major B in place).
using MicroKernelFn = void (*)(int64_t kc, const float* a, const float* b, int64_t ldb, float* c,
                               int64_t ldc, float alpha, float beta);

struct MicroKernel {
  int rows, cols;
  MicroKernelFn run;
};

MicroKernel micro_kernel_avx2();    // 6 x 16, gemm_kernel_avx2.cpp
MicroKernel micro_kernel_avx512();  // 8 x 32, gemm_kernel_avx512.cpp (AVX-512F only)
MicroKernel micro_kernel(CpuIsa isa);

// Packs op(A)(i0 .. i0+mc, p0 .. p0+kc) into ceil(mc/rows) micro-panels, back to back.
void pack_a(StridedMatrix A, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int rows, float* out);
// Packs op(B)(p0 .. p0+kc, j0 .. j0+nc) into ceil(nc/cols) micro-panels, back to back.
void pack_b(StridedMatrix B, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int cols, float* out);

}  // namespace cudp::cpu
