// The packed CPU GEMM behind versions 2 and 3, and the pieces conv2d builds on (internal).
//
// One driver, gemm_packed (gemm_packed.cpp), serves two numbered versions
// (kernels/cpu/versions.h): v2 runs it on the AVX2+FMA 6x16 micro-kernel, v3 on
// the AVX-512 8x32 one. The ISA is the only difference, so it is a parameter
// here and a version number everywhere else; conv2d v2/v3 call gemm_strided
// with the same ISA. The default versions follow active_cpu_isa().
//
// The decision a reader would get wrong: v2 and v3 give BITWISE identical
// results, for every thread count: each C element is one FMA chain over k in
// order, restarted at every KC block (the same KC for both), and the split of
// C over threads never splits k. They differ from v1 in rounding only.
#pragma once

#include <cstdint>

#include "kernels/gemm.h"

namespace cudp::cpu {

enum class CpuIsa { Avx2, Avx512 };
const char* cpu_isa_name(CpuIsa isa);
bool cpu_has_avx512();  // __builtin_cpu_supports("avx512f"), asked once

// The ISA of the default GEMM and conv2d versions (v3 on AVX-512, v2 on AVX2):
// AVX-512 where the CPU has it, unless a test forced AVX2 (forcing AVX-512 on a
// CPU without it throws). Process-wide.
CpuIsa active_cpu_isa();
void force_cpu_isa(CpuIsa isa);
void unforce_cpu_isa();

// GEMM v2 (isa = Avx2) and v3 (isa = Avx512) on ctx.threads; the op's contract (kernels/gemm.h).
void gemm_packed(const Context& ctx, CpuIsa isa, GemmLayout layout, int64_t M, int64_t N, int64_t K,
                 float alpha, const float* A, const float* B, float beta, float* C);

// A matrix read through two strides: element (i, j) is data[i * row + j * col].
struct StridedMatrix {
  const float* data;
  int64_t row, col;
};

// One thread, any strides: C[i*ldc + j] = alpha * sum_k A(i,k) B(k,j) + beta * C.
// What gemm_packed runs on each thread's block of C; conv2d v2/v3 call it per sample.
void gemm_strided(CpuIsa isa, int64_t M, int64_t N, int64_t K, float alpha, StridedMatrix A,
                  StridedMatrix B, float beta, float* C, int64_t ldc);

// The micro-tile of an ISA (rows of A, columns of B per register tile): splits
// of C over threads are made in these units.
int gemm_tile_rows(CpuIsa isa);
int gemm_tile_cols(CpuIsa isa);

}  // namespace cudp::cpu
