// Device primitives of the tf32 tensor-core kernels (gemm_tf32.cu, conv2d_tf32.cu):
// cp.async copies, cvt.rna.tf32.f32, ldmatrix, mma.sync m16n8k8, and the warp's
// compute step over one shared-memory stage. The index math they use is in
// mma_tf32_layout.h, which the CPU test checks.
//
// The decisions a reader would get wrong:
//  - the copies zero-fill: an element outside the operand is a cp.async of 0 source
//    bytes from a valid address (the operand's base), so the compute step needs no bounds;
//  - every operand register is rounded with cvt.rna.tf32.f32 after the shared-memory load
//    (round to nearest, ties away, as kernels/tf32.h): mma.sync given raw FP32 bits would
//    truncate them;
//  - shared-memory stages are reused only after cp.async.wait_group and a barrier: the
//    kernels' loops say which group each wait covers.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/mma_tf32_layout.h"

namespace cudp::cuda_detail {

__device__ __forceinline__ uint32_t smem_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes from `src` to shared `dst`, or 16 zero bytes when !inside (src still valid).
__device__ __forceinline__ void cp_async16(float* dst, const float* src, bool inside) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address(dst)),
               "l"(src), "r"(inside ? 16 : 0)
               : "memory");
}
// 4 bytes, or 4 zero bytes when !inside.
__device__ __forceinline__ void cp_async4(float* dst, const float* src, bool inside) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_address(dst)),
               "l"(src), "r"(inside ? 4 : 0)
               : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
// Waits until at most `kPending` of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// The k-tile loop of the tf32 kernels: tiles 0 .. tiles - 1 through kStages shared-memory
// stages. load(i) queues the copies of tile i into stage i % kStages; landed(s) runs on
// each thread once its own copies of stage s have arrived, before the barrier; compute(s)
// consumes stage s and must be done with it when it returns (stage s is refilled after
// the next barrier). One commit group per tile, empty past the last, so that group i is
// always tile i and cp.async.wait_group kStages - 2 means "tile i has landed".
struct NoLanded {
  __device__ void operator()(int) const {}
};
template <int kStages, class Load, class Compute, class Landed = NoLanded>
__device__ __forceinline__ void cp_async_pipeline(int tiles, Load&& load, Compute&& compute,
                                                  Landed&& landed = Landed{}) {
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) {
    if (i < tiles) load(i);
    cp_async_commit();
  }
  for (int i = 0; i < tiles; ++i) {
    cp_async_wait<kStages - 2>();  // this thread's copies of tile i have landed
    landed(i % kStages);
    __syncthreads();  // everyone's have; and everyone is done with tile i - 1's stage
    if (i + kStages - 1 < tiles) load(i + kStages - 1);  // into tile i - 1's stage
    cp_async_commit();
    compute(i % kStages);
  }
  cp_async_wait<0>();
}

__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(v));
  return r;
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const float* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_address(row)));
}

// d += a * b on one m16n8k8 tile.
__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4],
                                         const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// One warp's share of one shared-memory stage: acc[MT][NT] m16n8 tiles += A * B over the
// stage's 16 depths. As holds BM rows (k-major when kAKMajor, else x-major), Bs BN columns.
template <int MT, int NT, bool kAKMajor, bool kBKMajor, int BM, int BN>
__device__ __forceinline__ void warp_mma_stage(const float* As, const float* Bs, int warp,
                                               int lane, float (&acc)[MT][NT][4]) {
  using namespace mma_tf32;
  static_assert(NT % 2 == 0, "ldmatrix reads the B fragments of two n8 tiles at once");
  const int wm = warp_row0(warp, MT), wn = warp_col0(warp, NT);
#pragma unroll
  for (int k0 = 0; k0 < mma_tf32::kBK; k0 += 8) {
    uint32_t a[MT][4], b[NT][2];
#pragma unroll
    for (int mi = 0; mi < MT; ++mi) {
      if constexpr (kAKMajor) {
        const XK p = ldmatrix_a_row(lane, wm + 16 * mi, k0);
        ldmatrix_x4(a[mi], As + kmajor_offset(p.x, p.k));
#pragma unroll
        for (int i = 0; i < 4; ++i) a[mi][i] = to_tf32(__uint_as_float(a[mi][i]));
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const Coord c = a_fragment(lane, i);
          a[mi][i] = to_tf32(As[xmajor_offset(BM, wm + 16 * mi + c.row, k0 + c.col)]);
        }
      }
    }
#pragma unroll
    for (int ni = 0; ni < NT; ni += 2) {
      if constexpr (kBKMajor) {
        const XK p = ldmatrix_b_row(lane, wn + 8 * ni, k0);
        uint32_t r[4];
        ldmatrix_x4(r, Bs + kmajor_offset(p.x, p.k));
        b[ni][0] = to_tf32(__uint_as_float(r[0]));
        b[ni][1] = to_tf32(__uint_as_float(r[1]));
        b[ni + 1][0] = to_tf32(__uint_as_float(r[2]));
        b[ni + 1][1] = to_tf32(__uint_as_float(r[3]));
      } else {
#pragma unroll
        for (int h = 0; h < 2; ++h)
#pragma unroll
          for (int i = 0; i < 2; ++i) {
            const Coord c = b_fragment(lane, i);  // (k, n)
            b[ni + h][i] = to_tf32(Bs[xmajor_offset(BN, wn + 8 * (ni + h) + c.col, k0 + c.row)]);
          }
      }
    }
#pragma unroll
    for (int mi = 0; mi < MT; ++mi)
#pragma unroll
      for (int ni = 0; ni < NT; ++ni) mma_tf32(acc[mi][ni], a[mi], b[ni]);
  }
}

}  // namespace cudp::cuda_detail
