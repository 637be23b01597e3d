// The index math of CUDA GEMM v6 (kernels/cuda/gemm_v6_layout.h), checked on the CPU: the
// same functions the kernel runs, compiled by g++. No GPU needed, so CI checks what silicon
// would otherwise be the first to find: a tile element copied twice or never, a copy that
// reads outside the matrix, a swizzle that skips or repeats a tile, an output written by two
// threads or by none. A last test runs the whole kernel's arithmetic sequentially (stages,
// fragments, epilogue) on small-integer matrices and compares exactly with a plain loop.
#include "kernels/cuda/gemm_v6_layout.h"

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace cudp::cuda::gemm6 {
namespace {

struct CopyKind {
  bool k_contig;
  int width;  // floats per copy: 4 only for x-contiguous operands
};
const CopyKind kCopyKinds[] = {{true, 1}, {false, 1}, {false, 4}};
const int kTileWidths[] = {kBM, kBN};  // A's and B's tiles

std::string describe(int bx, CopyKind c) {
  return "bx=" + std::to_string(bx) + (c.k_contig ? " k-contiguous" : " x-contiguous") +
         " width=" + std::to_string(c.width);
}

TEST(GemmV6Layout, LoadersCoverEveryTileElementExactlyOnce) {
  for (int bx : kTileWidths)
    for (CopyKind c : kCopyKinds) {
      SCOPED_TRACE(describe(bx, c));
      const int copies = copies_per_thread(bx, c.width);
      ASSERT_EQ(copies * kThreads * c.width, bx * kBK);
      std::vector<int> hits(static_cast<size_t>(bx * kBK), 0);
      std::set<int> slots;
      for (int tid = 0; tid < kThreads; ++tid)
        for (int it = 0; it < copies; ++it) {
          const TileCoord t = copy_coord(bx, c.k_contig, c.width, it, tid);
          ASSERT_TRUE(t.x >= 0 && t.x + c.width <= bx && t.k >= 0 && t.k < kBK)
              << "tid " << tid << " copy " << it << " -> (" << t.x << ", " << t.k << ")";
          // A 16-byte copy needs a 16-byte aligned destination (stage bases are, see below).
          if (c.width == 4) {
            EXPECT_EQ(smem_offset(bx, t.x, t.k) % 4, 0);
          }
          for (int w = 0; w < c.width; ++w) {
            ++hits[static_cast<size_t>(t.k * bx + t.x + w)];
            slots.insert(smem_offset(bx, t.x + w, t.k));
          }
        }
      for (int k = 0; k < kBK; ++k)
        for (int x = 0; x < bx; ++x)
          ASSERT_EQ(hits[static_cast<size_t>(k * bx + x)], 1)
              << "element (" << x << ", " << k << ")";
      ASSERT_EQ(slots.size(), static_cast<size_t>(bx * kBK));  // distinct shared-memory slots
      const int stage_floats = bx == kBM ? kAStageFloats : kBStageFloats;
      EXPECT_LT(*slots.rbegin(), stage_floats);
      EXPECT_EQ(stage_floats % 4, 0);  // every stage starts 16-byte aligned
    }
  EXPECT_EQ(kSmemBytes, kStages * (kAStageFloats + kBStageFloats) * 4);
}

// The transposing 4-byte copies of one warp land in 32 distinct banks (kPad = 4).
TEST(GemmV6Layout, TransposingCopiesOfAWarpHitDistinctBanks) {
  for (int bx : kTileWidths)
    for (int warp = 0; warp < kThreads / 32; ++warp)
      for (int it = 0; it < copies_per_thread(bx, 1); ++it) {
        std::set<int> banks;
        for (int lane = 0; lane < 32; ++lane) {
          const TileCoord t = copy_coord(bx, true, 1, it, warp * 32 + lane);
          banks.insert(smem_offset(bx, t.x, t.k) % 32);
        }
        EXPECT_EQ(banks.size(), 32u) << "bx " << bx << " warp " << warp << " copy " << it;
      }
}

TEST(GemmV6Layout, SwizzleIsABijectionOntoTheTiles) {
  std::vector<std::pair<int, int>> grids;
  for (int m = 1; m <= 40; ++m)
    for (int n = 1; n <= 40; ++n) grids.emplace_back(m, n);
  grids.insert(grids.end(), {{1000, 3}, {3, 1000}, {257, 129}, {64, 32}, {33, 17}});
  for (const auto& [m_tiles, n_tiles] : grids) {
    std::vector<int> hits(static_cast<size_t>(m_tiles * n_tiles), 0);
    for (int b = 0; b < m_tiles * n_tiles; ++b) {
      const BlockTile t = swizzle_tile(b, m_tiles, n_tiles);
      ASSERT_TRUE(t.m >= 0 && t.m < m_tiles && t.n >= 0 && t.n < n_tiles)
          << m_tiles << " x " << n_tiles << " tiles: block " << b << " -> (" << t.m << ", " << t.n
          << ")";
      ++hits[static_cast<size_t>(t.m * n_tiles + t.n)];
    }
    for (int h : hits) ASSERT_EQ(h, 1) << m_tiles << " x " << n_tiles << " tiles";
  }
  // Inside a full group, consecutive blocks walk down kSwizzleRows m tiles of one n column.
  const BlockTile first = swizzle_tile(0, 32, 16), next = swizzle_tile(1, 32, 16);
  EXPECT_EQ(next.m, first.m + 1);
  EXPECT_EQ(next.n, first.n);
  EXPECT_EQ(swizzle_tile(kSwizzleRows, 32, 16).n, 1);
}

TEST(GemmV6Layout, EpilogueWritesEveryOutputOfTheTileExactlyOnce) {
  std::vector<int> hits(static_cast<size_t>(kBM * kBN), 0);
  for (int tid = 0; tid < kThreads; ++tid)
    for (int i = 0; i < kThreadM; ++i) {
      // The kernel reads A fragments at thread_row(tid, 0) + 32 * (i / 4) + i % 4.
      ASSERT_EQ(thread_row(tid, i), thread_row(tid, 0) + 32 * (i / 4) + i % 4);
      for (int h = 0; h < kThreadN / 4; ++h) {
        ASSERT_EQ(thread_col(tid, h), thread_col(tid, 0) + 16 * h);  // B fragments likewise
        for (int j = 0; j < 4; ++j) {
          const int r = thread_row(tid, i), c = thread_col(tid, h) + j;
          ASSERT_TRUE(r >= 0 && r < kBM && c >= 0 && c < kBN) << "tid " << tid;
          ++hits[static_cast<size_t>(r * kBN + c)];
        }
      }
    }
  for (int e = 0; e < kBM * kBN; ++e)
    ASSERT_EQ(hits[static_cast<size_t>(e)], 1) << "output (" << e / kBN << ", " << e % kBN << ")";
}

// Element (x, k) of an X x K operand stored k- or x-contiguously: 1 + x + 1000 * k, never 0.
std::vector<float> operand(bool k_contig, int X, int K) {
  std::vector<float> p(static_cast<size_t>(X) * K);
  for (int x = 0; x < X; ++x)
    for (int k = 0; k < K; ++k)
      p[static_cast<size_t>(k_contig ? x * K + k : k * X + x)] = 1.0f + x + 1000.0f * k;
  return p;
}

// One stage as the kernel fills it: in-bounds copies read `width` floats at global_offset
// (asserted inside the matrix), the others write zeros. NaN marks a slot never written.
std::vector<float> fill_stage(const std::vector<float>& p, int bx, CopyKind c, int X, int K, int x0,
                              int k0) {
  std::vector<float> s(static_cast<size_t>(kBK * (bx + kPad)), NAN);
  for (int tid = 0; tid < kThreads; ++tid)
    for (int it = 0; it < copies_per_thread(bx, c.width); ++it) {
      const TileCoord t = copy_coord(bx, c.k_contig, c.width, it, tid);
      const int gx = x0 + t.x, gk = k0 + t.k;
      const bool in = copy_in_bounds(gx, gk, X, K);
      const int src = global_offset(c.k_contig, gx, gk, X, K);
      for (int w = 0; w < c.width; ++w) {
        if (in) {
          EXPECT_LT(src + w, X * K) << "copy reads past the matrix";
        }
        s[static_cast<size_t>(smem_offset(bx, t.x + w, t.k))] =
            in ? p[static_cast<size_t>(src + w)] : 0.0f;
      }
    }
  return s;
}

TEST(GemmV6Layout, EdgeTilesZeroFillExactlyTheOutOfRangeElements) {
  const int Ks[] = {1, 7, 8, 9, 17, 24};
  for (int bx : kTileWidths)
    for (CopyKind c : kCopyKinds)
      for (int X : {1, 3, 4, 127, 128, 129, 255, 256, 257, 260, 300, 516}) {
        if (c.width == 4 && X % 4 != 0) continue;  // the launcher's rule for 16-byte copies
        for (int K : Ks) {
          SCOPED_TRACE(describe(bx, c) + " X=" + std::to_string(X) + " K=" + std::to_string(K));
          const auto p = operand(c.k_contig, X, K);
          const int last_x0 = (X - 1) / bx * bx, last_k0 = (K - 1) / kBK * kBK;
          for (int x0 : {0, last_x0})
            for (int k0 : {0, last_k0}) {
              const auto s = fill_stage(p, bx, c, X, K, x0, k0);
              for (int k = 0; k < kBK; ++k)
                for (int x = 0; x < bx; ++x) {
                  const bool in = x0 + x < X && k0 + k < K;
                  const float want = in ? 1.0f + (x0 + x) + 1000.0f * (k0 + k) : 0.0f;
                  ASSERT_EQ(s[static_cast<size_t>(smem_offset(bx, x, k))], want)
                      << "tile (" << x0 << ", " << k0 << ") element (" << x << ", " << k << ")";
                }
            }
        }
      }
}

// The kernel's arithmetic run sequentially: for every block (through the swizzle), every
// k-tile filled by the copy math, every thread's fragments and its epilogue, C = A * B for an
// NN-like pairing (A k-contiguous, B x-contiguous with 16-byte copies when N % 4 == 0).
// Small integers keep every sum exact, so the comparison is exact.
TEST(GemmV6Layout, SequentialRunOfTheKernelMathMatchesAPlainLoop) {
  const int shapes[][3] = {{129, 257, 9}, {300, 260, 20}, {5, 3, 1}};
  for (const auto& shape : shapes) {
    const int M = shape[0], N = shape[1], K = shape[2];
    SCOPED_TRACE("M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
    std::vector<float> A(static_cast<size_t>(M) * K), B(static_cast<size_t>(K) * N);
    for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
    for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>(static_cast<int>(i % 5) - 2);
    const CopyKind a_kind{true, 1}, b_kind{false, N % 4 == 0 ? 4 : 1};
    std::vector<float> C(static_cast<size_t>(M) * N, NAN);
    const int m_tiles = (M + kBM - 1) / kBM, n_tiles = (N + kBN - 1) / kBN;
    for (int b = 0; b < m_tiles * n_tiles; ++b) {
      const BlockTile tile = swizzle_tile(b, m_tiles, n_tiles);
      const int m0 = tile.m * kBM, n0 = tile.n * kBN;
      std::vector<double> acc(static_cast<size_t>(kThreads) * kThreadM * kThreadN, 0.0);
      for (int k0 = 0; k0 < K; k0 += kBK) {
        const auto as = fill_stage(A, kBM, a_kind, M, K, m0, k0);
        const auto bs = fill_stage(B, kBN, b_kind, N, K, n0, k0);
        for (int tid = 0; tid < kThreads; ++tid)
          for (int k = 0; k < kBK; ++k)
            for (int i = 0; i < kThreadM; ++i)
              for (int j = 0; j < kThreadN; ++j)
                acc[(static_cast<size_t>(tid) * kThreadM + i) * kThreadN + j] +=
                    double(as[static_cast<size_t>(smem_offset(kBM, thread_row(tid, i), k))]) *
                    bs[static_cast<size_t>(smem_offset(kBN, thread_col(tid, j / 4) + j % 4, k))];
      }
      for (int tid = 0; tid < kThreads; ++tid)
        for (int i = 0; i < kThreadM; ++i)
          for (int j = 0; j < kThreadN; ++j) {
            const int gi = m0 + thread_row(tid, i), gj = n0 + thread_col(tid, j / 4) + j % 4;
            if (gi < M && gj < N)
              C[static_cast<size_t>(gi) * N + gj] =
                  static_cast<float>(acc[(static_cast<size_t>(tid) * kThreadM + i) * kThreadN + j]);
          }
    }
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        double want = 0.0;
        for (int k = 0; k < K; ++k)
          want += double(A[static_cast<size_t>(i) * K + k]) * B[static_cast<size_t>(k) * N + j];
        ASSERT_EQ(C[static_cast<size_t>(i) * N + j], static_cast<float>(want))
            << "C(" << i << ", " << j << ")";
      }
  }
}

}  // namespace
}  // namespace cudp::cuda::gemm6
