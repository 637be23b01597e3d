// GEMM v2/v3: packed panels, cache blocking, a register-tile micro-kernel.
//
// One thread (gemm_strided), the loop nest of GotoBLAS/BLIS:
//   for jc in N by kNc:                      B panel  kKc x kNc      (L3)
//     for pc in K by kKc:   pack op(B) block
//       for ic in M by kMc: pack op(A) block A block  kMc x kKc      (L2)
//         for jr in nc by cols:              B micro-panel kKc x cols (L1)
//           for ir in mc by rows:            micro-kernel, rows x cols of C in registers
//                        (ir outside jr when the K block is shallow: kRowOrderMaxK)
// Each K block adds into C: the first with the caller's beta, the next with beta 1.
// Edge tiles run the same micro-kernel on a copy of the C tile, so every C
// element is computed by the same instructions wherever it lies. When op(B) is
// row-major (NN, TN), C has at most 8 row tiles (a Linear layer's batch, a
// conv's 64 filters) and K >= 128, whole B micro-panels are read in place
// instead of packed: the copy would cost as much as the few tiles that reuse it.
//
// Threads (gemm_packed): C is cut into ctx.threads blocks of whole micro-tile
// columns (or rows, when C has more tile rows than columns), one per thread,
// each running gemm_strided on its block with its own packing buffers. No
// thread ever splits k, so the result does not depend on the thread count.
//
// The decisions a reader would get wrong:
//  - beta == 0 never reads C (the micro-kernel's contract), also for edge tiles
//    and for K == 0, where C = 0 (or beta * C) is written without reading A, B;
//  - kKc is the same for both ISAs on purpose: it fixes where the FMA chains
//    restart, which is what makes v2 and v3 bitwise equal;
//  - the packing buffers are thread_local and only grow: no allocation in a
//    steady-state training step, one set per thread that ever ran a GEMM.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "kernels/cpu/gemm_micro_kernel.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

constexpr int64_t kKc = 256;   // k per packed block: both ISAs (see above)
constexpr int64_t kMc = 192;   // rows of A per packed block: 192 x 256 floats = 192 KiB (L2)
constexpr int64_t kNc = 3072;  // columns of B per packed block: 3 MiB (L3)
// A row-major op(B) is read in place, unpacked, when C has at most this many row
// tiles and K is at least this deep: short strided runs of B rows (conv1's K = 27,
// 4 KiB apart, all in one L1 set) run faster packed (measured: 167 vs 118 GFLOP/s).
constexpr int64_t kInPlaceRowTiles = 8;
constexpr int64_t kInPlaceMinK = 128;
// A K block this shallow walks the micro-tiles along C's rows instead of down its
// columns. With few k per tile the kernel is short and C's stores dominate; down a
// column each tile's rows are ldc apart (16 KiB for fc1's dW, 512 x 4096 at K = 16,
// a cpu:2 rank's shard), which alias in the L1 and the store path. Measured on the
// 2-core EPYC VM, one thread: that GEMM 838 -> 382 us, K = 32 762 -> 716 us, conv1
// (K = 27) 3-9% faster, deeper K unchanged. B's block, kc x nc <= 384 KiB, stays in
// L2 in both orders; each tile's arithmetic is the same, so no bit changes.
constexpr int64_t kRowOrderMaxK = 32;
// Below this many FLOPs per thread a fork costs more than it saves.
constexpr double kMinFlopsPerThread = 2.0e6;

int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// A 64-byte aligned float buffer that only grows.
class Scratch {
 public:
  float* get(int64_t floats) {
    if (floats > size_) {
      const size_t bytes = static_cast<size_t>(round_up(floats * 4, 64));
      data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
      if (!data_) throw std::bad_alloc();
      size_ = floats;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  int64_t size_ = 0;
};

// C = beta * C over an M x N block (beta == 0 writes zeros without reading).
void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
  }
}

// A rows x cols tile at C's edge with only `m` x `n` valid: the full kernel on a copy.
void edge_tile(const MicroKernel& mk, int64_t kc, const float* a, const float* b, int64_t ldb,
               float* c, int64_t ldc, int64_t m, int64_t n, float alpha, float beta) {
  alignas(64) float tile[8 * 32] = {};  // the largest micro-tile of any ISA
  if (beta != 0.0f)
    for (int64_t i = 0; i < m; ++i) std::copy(c + i * ldc, c + i * ldc + n, tile + i * mk.cols);
  mk.run(kc, a, b, ldb, tile, mk.cols, alpha, beta);
  for (int64_t i = 0; i < m; ++i)
    std::copy(tile + i * mk.cols, tile + i * mk.cols + n, c + i * ldc);
}

std::atomic<int> forced_isa{-1};  // -1: none, else a CpuIsa

}  // namespace

const char* cpu_isa_name(CpuIsa isa) { return isa == CpuIsa::Avx512 ? "avx512" : "avx2"; }

bool cpu_has_avx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return has;
}

CpuIsa active_cpu_isa() {
  const int forced = forced_isa.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<CpuIsa>(forced);
  return cpu_has_avx512() ? CpuIsa::Avx512 : CpuIsa::Avx2;
}

void force_cpu_isa(CpuIsa isa) {
  if (isa == CpuIsa::Avx512 && !cpu_has_avx512()) fail("force_cpu_isa: this CPU has no AVX-512F");
  forced_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

void unforce_cpu_isa() { forced_isa.store(-1, std::memory_order_relaxed); }

MicroKernel micro_kernel(CpuIsa isa) {
  if (isa == CpuIsa::Avx512) {
    CUDP_ASSERT(cpu_has_avx512());
    return micro_kernel_avx512();
  }
  return micro_kernel_avx2();
}

int gemm_tile_rows(CpuIsa isa) { return micro_kernel(isa).rows; }
int gemm_tile_cols(CpuIsa isa) { return micro_kernel(isa).cols; }

void gemm_strided(CpuIsa isa, int64_t M, int64_t N, int64_t K, float alpha, StridedMatrix A,
                  StridedMatrix B, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) return scale_c(M, N, beta, C, ldc);
  const MicroKernel mk = micro_kernel(isa);
  const int64_t mc_max = std::min(round_up(kMc, mk.rows), round_up(M, mk.rows));
  const int64_t nc_max = std::min(round_up(kNc, mk.cols), round_up(N, mk.cols));
  const int64_t kc_max = std::min(kKc, K);
  thread_local Scratch a_scratch, b_scratch;
  float* a_pack = a_scratch.get(mc_max * kc_max);
  float* b_pack = b_scratch.get(kc_max * nc_max);

  // A row-major op(B) that few row tiles read is used in place: packing it would
  // copy more than the kernel reuses. Only a ragged last panel is packed then.
  const bool b_in_place = B.col == 1 && M <= kInPlaceRowTiles * mk.rows && K >= kInPlaceMinK;

  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    const int64_t full_cols = b_in_place ? nc / mk.cols * mk.cols : 0;  // read in place
    for (int64_t pc = 0; pc < K; pc += kKc) {
      const int64_t kc = std::min(kKc, K - pc);
      const float beta_k = pc == 0 ? beta : 1.0f;  // later K blocks add to C
      if (full_cols < nc) pack_b(B, pc, kc, jc + full_cols, nc - full_cols, mk.cols, b_pack);
      for (int64_t ic = 0; ic < M; ic += mc_max) {
        const int64_t mc = std::min(mc_max, M - ic);
        pack_a(A, ic, mc, pc, kc, mk.rows, a_pack);
        auto tile = [&](int64_t ir, int64_t jr) {
          // B's rows for this micro-panel: in place (B.row apart) or packed (cols apart,
          // micro-panel (jr - full_cols) / cols of b_pack, cols * kc floats each)
          const bool in_place = jr < full_cols;
          const float* b =
              in_place ? B.data + pc * B.row + jc + jr : b_pack + (jr - full_cols) * kc;
          const int64_t ldb = in_place ? B.row : mk.cols;
          const int64_t n = std::min<int64_t>(mk.cols, nc - jr);
          const float* a = a_pack + ir * kc;
          float* c = C + (ic + ir) * ldc + jc + jr;
          const int64_t m = std::min<int64_t>(mk.rows, mc - ir);
          if (m == mk.rows && n == mk.cols)
            mk.run(kc, a, b, ldb, c, ldc, alpha, beta_k);
          else
            edge_tile(mk, kc, a, b, ldb, c, ldc, m, n, alpha, beta_k);
        };
        if (kc <= kRowOrderMaxK) {  // along C's rows (see kRowOrderMaxK)
          for (int64_t ir = 0; ir < mc; ir += mk.rows)
            for (int64_t jr = 0; jr < nc; jr += mk.cols) tile(ir, jr);
        } else {
          for (int64_t jr = 0; jr < nc; jr += mk.cols)
            for (int64_t ir = 0; ir < mc; ir += mk.rows) tile(ir, jr);
        }
      }
    }
  }
}

void gemm_packed(const Context& ctx, CpuIsa isa, GemmLayout layout, int64_t M, int64_t N, int64_t K,
                 float alpha, const float* A, const float* B, float beta, float* C) {
  CUDP_ASSERT(M >= 0 && N >= 0 && K >= 0);
  if (M == 0 || N == 0) return;
  // op(A)(i,k) and op(B)(k,j) as strides (gemm_packing.cpp lists the layouts).
  const StridedMatrix a =
      layout == GemmLayout::TN ? StridedMatrix{A, 1, M} : StridedMatrix{A, K, 1};
  const StridedMatrix b =
      layout == GemmLayout::NT ? StridedMatrix{B, 1, K} : StridedMatrix{B, N, 1};
  const MicroKernel mk = micro_kernel(isa);
  const int64_t tile_rows = (M + mk.rows - 1) / mk.rows, tile_cols = (N + mk.cols - 1) / mk.cols;
  const bool split_rows = tile_rows > tile_cols;
  const int64_t tiles = split_rows ? tile_rows : tile_cols;
  const int threads = threads_for(ctx.threads, 2.0 * M * N * K, kMinFlopsPerThread, tiles);
  if (threads <= 1) return gemm_strided(isa, M, N, K, alpha, a, b, beta, C, N);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(tiles, threads, t);  // in whole micro-tiles
    if (split_rows) {
      const int64_t i0 = r.begin * mk.rows, i1 = std::min(M, r.end * mk.rows);
      const StridedMatrix a_block{a.data + i0 * a.row, a.row, a.col};
      gemm_strided(isa, i1 - i0, N, K, alpha, a_block, b, beta, C + i0 * N, N);
    } else {
      const int64_t j0 = r.begin * mk.cols, j1 = std::min(N, r.end * mk.cols);
      const StridedMatrix b_block{b.data + j0 * b.col, b.row, b.col};
      gemm_strided(isa, M, j1 - j0, K, alpha, a, b_block, beta, C + j0, N);
    }
  });
}

}  // namespace cudp::cpu
