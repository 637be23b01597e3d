// tf32 GEMM v2: Hopper's warpgroup MMA (wgmma.mma_async, sm_90a), for the tf32 math mode
// (kernels/cuda/gemm_tf32.cu holds v1 and the version list; kernels/gemm.h the contract).
//
//   v2: 128 x 128 x 32 block tiles, two warpgroups of m64n128k8 wgmma reading both operands
//       from shared memory through matrix descriptors (canonical K-major layout, no swizzle:
//       kernels/cuda/mma_tf32_layout.h, namespace wgmma), a 3-stage cp.async pipeline,
//       split-K as v1. Unverified on silicon: compiled for sm_90a in CI, its layout and
//       descriptor math checked on the CPU (tests/kernels/mma_tf32_layout_test.cpp), never run.
//
// The decisions a reader would get wrong:
//  - wgmma takes tf32 operands only K-major and straight from shared memory, so there is no
//    register on the way in which cvt.rna could round: each thread rounds the chunks it
//    copied in place (ld.shared, cvt.rna.tf32.f32, st.shared) once they land, then
//    fence.proxy.async makes those generic-proxy writes visible to wgmma's async proxy
//    before the barrier;
//  - an operand that is not K-major with K % 4 == 0 and a 16-byte aligned base (B in NN and
//    TN, A in TN, odd K, offset pointers) is first packed into the scratch buffer as a
//    K-major [X][K rounded up to 4] copy, zero-padded; the main kernel then only does
//    16-byte copies;
//  - the code exists only in the sm_90a image (__CUDA_ARCH_FEAT_SM90_ALL); a probe kernel
//    built the same way tells the launcher whether the GPU runs that image, and v2 fails
//    with a clear error where it does not (another architecture, or a build without 90a).
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/gemm_tf32_wgmma.cuh"
#include "kernels/cuda/mma_tf32.cuh"
#include "kernels/cuda/split_reduce.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/gemm.h"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define CUDP_WGMMA 1
#else
#define CUDP_WGMMA 0
#endif

namespace cudp::cuda {
namespace {

namespace wg = mma_tf32::wgmma;
using cuda_detail::ceil_div;

constexpr int kStages = 3;
constexpr int kStageBytes = (wg::kBM + wg::kBN) * wg::kBK * 4;  // 32 KiB
constexpr int kSmemBytes = kStages * kStageBytes + 128;         // + alignment slack
static_assert(wg::kBM == wg::kBN, "one chunk map serves both operands");

// An operand as the main kernel reads it: element (x, k) at p[x * pitch + k], K-major,
// pitch % 4 == 0, p 16-byte aligned.
struct KMajor {
  const float* p;
  int rows;
  int pitch;
};

struct WgArgs {
  KMajor a, b;
  int M, N, K;
  float alpha, beta;
  float* C;  // output, or the split-K partials
  int n_tiles;
  int k_tiles_per_split;
  size_t split_stride;
};

__global__ void probe_kernel(int* has_wgmma) { *has_wgmma = CUDP_WGMMA; }

// Packs operand (x, k) -> dst[x * pitch + k] (0 for k >= K), from a k-contiguous (src[x*K+k])
// or x-contiguous (src[k*X+x]) source, through a 32 x 33 shared tile so that both sides are
// coalesced. Grid: (ceil(pitch / 32), ceil(X / 32)); block 32 x 8.
template <bool kKContig>
__global__ void pack_kernel(const float* __restrict__ src, int X, int K, int pitch,
                            float* __restrict__ dst) {
  __shared__ float tile[32][33];
  const int k0 = blockIdx.x * 32, x0 = blockIdx.y * 32;
  for (int r = threadIdx.y; r < 32; r += 8) {
    // Read: kKContig walks k along threadIdx.x; otherwise x.
    const int x = kKContig ? x0 + r : x0 + threadIdx.x;
    const int k = kKContig ? k0 + threadIdx.x : k0 + r;
    float v = 0.0f;
    if (x < X && k < K)
      v = kKContig ? src[static_cast<int64_t>(x) * K + k] : src[static_cast<int64_t>(k) * X + x];
    if (kKContig)
      tile[r][threadIdx.x] = v;  // tile[x - x0][k - k0]
    else
      tile[threadIdx.x][r] = v;
  }
  __syncthreads();
  for (int r = threadIdx.y; r < 32; r += 8) {
    const int x = x0 + r, k = k0 + threadIdx.x;
    if (x < X && k < pitch) dst[static_cast<int64_t>(x) * pitch + k] = tile[r][threadIdx.x];
  }
}

#if CUDP_WGMMA
__device__ __forceinline__ uint64_t descriptor(const void* smem_tile) {
  return wg::descriptor_bits(cuda_detail::smem_address(smem_tile), wg::kLBO, wg::kSBO);
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// d (64 floats) += A (64 x 8, descriptor a) * B (8 x 128, descriptor b).
__device__ __forceinline__ void wgmma_m64n128k8(float (&d)[64], uint64_t a, uint64_t b) {
  asm volatile(
      "{\n"
      ".reg .pred accumulate;\n"
      "setp.ne.b32 accumulate, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k8.f32.tf32.tf32 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, accumulate, 1, 1;\n"
      "}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]),
        "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]),
        "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]),
        "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]),
        "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
        "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]),
        "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]),
        "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]),
        "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
        "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]),
        "+f"(d[62]), "+f"(d[63])
      : "l"(a), "l"(b)
      : "memory");
}
#endif

__global__ void __launch_bounds__(wg::kThreads) gemm_tf32_kernel2(WgArgs g) {
#if CUDP_WGMMA
  extern __shared__ unsigned char smem_raw[];
  // Descriptors address 16-byte units; align the stages to 128 bytes.
  unsigned char* const smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<uintptr_t>(smem_raw) + 127) & ~uintptr_t{127});
  const int tid = threadIdx.x;
  const int m0 = (blockIdx.x / g.n_tiles) * wg::kBM, n0 = (blockIdx.x % g.n_tiles) * wg::kBN;
  const int k_tiles = (g.K + wg::kBK - 1) / wg::kBK;
  const int t_begin = blockIdx.y * g.k_tiles_per_split;
  const int tiles = min(k_tiles, t_begin + g.k_tiles_per_split) - t_begin;

  auto stage_a = [&](int s) { return smem + s * kStageBytes; };
  auto stage_b = [&](int s) { return smem + s * kStageBytes + wg::kBM * wg::kBK * 4; };
  auto load_stage = [&](int i) {
    const int k0 = (t_begin + i) * wg::kBK, s = i % kStages;
#pragma unroll
    for (int it = 0; it < wg::kChunksPerThread; ++it) {
      const mma_tf32::XK e = wg::chunk(tid, it);
      const int gk = k0 + e.k;
      const int ga = m0 + e.x, gb = n0 + e.x;
      const bool in_a = ga < g.a.rows && gk < g.a.pitch;  // pitch: zero padding past K
      const bool in_b = gb < g.b.rows && gk < g.b.pitch;
      cuda_detail::cp_async16(
          reinterpret_cast<float*>(stage_a(s) + wg::tile_byte_offset(e.x, e.k)),
          in_a ? g.a.p + static_cast<int64_t>(ga) * g.a.pitch + gk : g.a.p, in_a);
      cuda_detail::cp_async16(
          reinterpret_cast<float*>(stage_b(s) + wg::tile_byte_offset(e.x, e.k)),
          in_b ? g.b.p + static_cast<int64_t>(gb) * g.b.pitch + gk : g.b.p, in_b);
    }
  };
  // This thread's own chunks of stage s, rounded to TF32 in place (cvt.rna).
  auto round_stage = [&](int s) {
#pragma unroll
    for (int it = 0; it < wg::kChunksPerThread; ++it) {
      const mma_tf32::XK e = wg::chunk(tid, it);
      for (unsigned char* base : {stage_a(s), stage_b(s)}) {
        float4* q = reinterpret_cast<float4*>(base + wg::tile_byte_offset(e.x, e.k));
        float4 v = *q;
        v.x = __uint_as_float(cuda_detail::to_tf32(v.x));
        v.y = __uint_as_float(cuda_detail::to_tf32(v.y));
        v.z = __uint_as_float(cuda_detail::to_tf32(v.z));
        v.w = __uint_as_float(cuda_detail::to_tf32(v.w));
        *q = v;
      }
    }
  };

  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = 0.0f;

  const int warpgroup = tid / 128;
  // Before the pipeline's barrier: this thread's chunks of the landed tile rounded in place,
  // and those generic-proxy writes made visible to wgmma's async-proxy reads.
  auto landed = [&](int s) {
    round_stage(s);
    fence_proxy_async();
  };
  cuda_detail::cp_async_pipeline<kStages>(tiles, load_stage, [&](int s) {
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < wg::kBK; kk += 8) {
      const uint64_t da = descriptor(stage_a(s) + wg::tile_byte_offset(64 * warpgroup, kk));
      const uint64_t db = descriptor(stage_b(s) + wg::tile_byte_offset(0, kk));
      wgmma_m64n128k8(acc, da, db);
    }
    wgmma_commit();
    wgmma_wait_all();  // stage s may be refilled after the next barrier
  }, landed);

  float* const C = g.C + blockIdx.y * g.split_stride;
#pragma unroll
  for (int i = 0; i < 64; ++i) {
    const mma_tf32::Coord c = wg::accumulator(tid, i);
    const int row = m0 + c.row, col = n0 + c.col;
    if (row < g.M && col < g.N) {
      float* out = C + static_cast<int64_t>(row) * g.N + col;
      *out = g.beta == 0.0f ? g.alpha * acc[i] : g.alpha * acc[i] + g.beta * *out;
    }
  }
#endif
}

// Whether this GPU runs the sm_90a image (cached per device).
bool has_wgmma(const Context& ctx, cudaStream_t stream) {
  static std::mutex mutex;
  static int known[64] = {};  // 0 unknown, 1 yes, 2 no
  const int dev = ctx.device.index;
  if (dev < 0 || dev >= 64) fail("gemm (cuda, tf32 v2): device index ", dev, " out of range");
  std::lock_guard<std::mutex> lock(mutex);
  if (known[dev] == 0) {
    int* flag = nullptr;
    CUDP_CUDA_CHECK(cudaMalloc(&flag, sizeof(int)));
    int host = 0;
    probe_kernel<<<1, 1, 0, stream>>>(flag);
    const cudaError_t launched = cudaGetLastError();
    if (launched == cudaSuccess)
      CUDP_CUDA_CHECK(cudaMemcpyAsync(&host, flag, sizeof(int), cudaMemcpyDeviceToHost, stream));
    CUDP_CUDA_CHECK(cudaStreamSynchronize(stream));
    CUDP_CUDA_CHECK(cudaFree(flag));
    known[dev] = launched == cudaSuccess && host == 1 ? 1 : 2;
    if (known[dev] == 1)
      CUDP_CUDA_CHECK(cudaFuncSetAttribute(gemm_tf32_kernel2,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           kSmemBytes));
  }
  return known[dev] == 1;
}

}  // namespace

// Called by gemm_tf32_version for v2 (after its argument checks; M, N > 0).
void gemm_tf32_wgmma(const Context& ctx, cudaStream_t stream, GemmLayout layout, int64_t M,
                     int64_t N, int64_t K, float alpha, const float* A, const float* B,
                     float beta, float* C) {
  if (!has_wgmma(ctx, stream))
    fail("gemm (cuda, tf32): v2 needs wgmma, which only the sm_90a image of this build has; "
         "this GPU (cuda:", ctx.device.index,
         ") does not run it (an H100 or H200 does when the build targets 90a)");
  const int64_t kLimit = 0x7fffffff - 2 * wg::kBM;
  if (M > kLimit || N > kLimit || K > kLimit - 4)
    fail("gemm (cuda, tf32): v2 indexes rows, columns and depth in 32 bits, found M = ", M,
         ", N = ", N, ", K = ", K);
  const int64_t m_tiles = ceil_div(M, wg::kBM), n_tiles = ceil_div(N, wg::kBN);
  if (m_tiles * n_tiles > 0x7fffffff) fail("gemm (cuda, tf32): too many tiles for a grid");
  const int64_t tiles = m_tiles * n_tiles;
  // Two blocks fit a multiprocessor (96 KiB of shared memory, 128 registers each).
  const cuda_detail::SplitK split = cuda_detail::plan_split_k(
      ctx, tiles, static_cast<int>(ceil_div(K, wg::kBK)), /*blocks_per_sm=*/2);
  const int splits = split.splits, per_split = split.tiles_per_split;

  // Operands the main kernel can read as they are; the others packed K-major.
  const bool a_k = layout != GemmLayout::TN, b_k = layout == GemmLayout::NT;
  const int pitch = static_cast<int>((K + 3) / 4 * 4);
  const bool direct_a = a_k && K % 4 == 0 && cuda_detail::aligned16(A);
  const bool direct_b = b_k && K % 4 == 0 && cuda_detail::aligned16(B);
  const size_t pack_a = direct_a ? 0 : static_cast<size_t>(M) * pitch;
  const size_t pack_b = direct_b ? 0 : static_cast<size_t>(N) * pitch;
  const size_t partial = splits > 1 ? static_cast<size_t>(splits) * M * N : 0;
  float* scratch = nullptr;
  if (pack_a + pack_b + partial > 0)
    scratch = static_cast<float*>(
        cuda_detail::scratch(ctx, (pack_a + pack_b + partial) * sizeof(float)));
  KMajor a{A, static_cast<int>(M), static_cast<int>(K)}, b{B, static_cast<int>(N),
                                                            static_cast<int>(K)};
  auto pack = [&](const float* src, bool k_contig, int64_t X, float* dst) {
    const dim3 grid(static_cast<unsigned>(ceil_div(pitch, 32)), static_cast<unsigned>(ceil_div(X, 32)));
    if (k_contig)
      pack_kernel<true><<<grid, dim3(32, 8), 0, stream>>>(src, static_cast<int>(X),
                                                           static_cast<int>(K), pitch, dst);
    else
      pack_kernel<false><<<grid, dim3(32, 8), 0, stream>>>(src, static_cast<int>(X),
                                                            static_cast<int>(K), pitch, dst);
    CUDP_LAUNCH_CHECK("pack_kernel", stream);
  };
  if (!direct_a) {
    pack(A, a_k, M, scratch);
    a = KMajor{scratch, static_cast<int>(M), pitch};
  }
  if (!direct_b) {
    pack(B, b_k, N, scratch + pack_a);
    b = KMajor{scratch + pack_a, static_cast<int>(N), pitch};
  }
  float* out = splits > 1 ? scratch + pack_a + pack_b : C;
  const WgArgs args{a,
                    b,
                    static_cast<int>(M),
                    static_cast<int>(N),
                    static_cast<int>(K),
                    splits > 1 ? 1.0f : alpha,
                    splits > 1 ? 0.0f : beta,
                    out,
                    static_cast<int>(n_tiles),
                    per_split,
                    static_cast<size_t>(M * N)};
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(splits));
  gemm_tf32_kernel2<<<grid, wg::kThreads, kSmemBytes, stream>>>(args);
  CUDP_LAUNCH_CHECK("gemm_tf32_kernel2", stream);
  if (splits > 1) cuda_detail::reduce_splits(ctx, stream, out, splits, M * N, alpha, beta, C);
}

}  // namespace cudp::cuda
