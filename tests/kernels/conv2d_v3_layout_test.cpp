// The index math of CUDA conv2d v3 (kernels/cuda/conv2d_v3_layout.h), checked on the CPU:
// the same functions the kernel runs, compiled by g++, no GPU. Loaders that copy a tile
// element twice or never, or give a thread more than one depth per tile; shared-memory stores
// and fragment reads that conflict on banks; an output written by two threads or none. The
// last test runs a whole block's arithmetic (stages filled by the loaders, fragments, epilogue)
// for every block of the three passes of small convolutions, with the operands gathered by a
// plain reading of conv2d.cu's GEMM view, and compares exactly with the CPU twin: small
// integers keep every sum exact.
#include "kernels/cuda/conv2d_v3_layout.h"

#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/conv2d.h"
#include "runtime/context.h"

namespace cudp::cuda::conv3 {
namespace {

using Coord = TileCoord (*)(int, int);
struct Loader {
  const char* name;
  Coord coord;
};
const Loader kLoaders[] = {{"depth-fast", depth_fast_coord}, {"column-fast", column_fast_coord}};
const int kTileWidths[] = {kBM, kBN};  // A's and B's tiles

TEST(Conv2dV3Layout, LoadersCoverEveryTileElementExactlyOnceWithOneDepthPerThread) {
  for (int bx : kTileWidths)
    for (const Loader& l : kLoaders) {
      SCOPED_TRACE(std::string(l.name) + " bx=" + std::to_string(bx));
      const int copies = bx / 32;
      ASSERT_EQ(copies * kThreads, bx * kBK);
      ASSERT_EQ(copies, bx == kBM ? kAPer : kBPer);
      std::vector<int> hits(static_cast<size_t>(bx * kBK), 0);
      std::set<int> slots;
      for (int tid = 0; tid < kThreads; ++tid)
        for (int it = 0; it < copies; ++it) {
          const TileCoord t = l.coord(it, tid);
          ASSERT_TRUE(t.x >= 0 && t.x < bx && t.k >= 0 && t.k < kBK)
              << "tid " << tid << " copy " << it << " -> (" << t.x << ", " << t.k << ")";
          // The kernel decodes the depth of copy 0 and uses it for all of the thread's copies.
          ASSERT_EQ(t.k, l.coord(0, tid).k) << "tid " << tid << " copy " << it;
          ++hits[static_cast<size_t>(t.k * bx + t.x)];
          const int slot = smem_offset(bx, t.x, t.k);
          ASSERT_TRUE(slot >= 0 && slot < (bx == kBM ? kAStageFloats : kBStageFloats));
          slots.insert(slot);
        }
      for (int e = 0; e < bx * kBK; ++e)
        ASSERT_EQ(hits[static_cast<size_t>(e)], 1)
            << "element (" << e % bx << ", " << e / bx << ")";
      ASSERT_EQ(slots.size(), static_cast<size_t>(bx * kBK));
    }
}

// Shared memory has 32 banks of 4 bytes; a warp's 4-byte stores take one wavefront when their
// 32 addresses fall in 32 distinct banks.
TEST(Conv2dV3Layout, LoaderStoresAreBankConflictFree) {
  for (int bx : kTileWidths)
    for (const Loader& l : kLoaders)
      for (int warp = 0; warp < kThreads / 32; ++warp)
        for (int it = 0; it < bx / 32; ++it) {
          std::set<int> banks;
          for (int lane = 0; lane < 32; ++lane) {
            const TileCoord t = l.coord(it, 32 * warp + lane);
            banks.insert(smem_offset(bx, t.x, t.k) % 32);
          }
          EXPECT_EQ(banks.size(), 32u)
              << l.name << " bx=" << bx << " warp " << warp << " copy " << it;
        }
}

// A float4 read is served a quarter-warp (8 lanes) at a time: conflict-free when the distinct
// 16-byte words those lanes read lie in distinct groups of 4 banks (same words broadcast).
int quarter_wavefronts(const std::vector<int>& lane_offsets) {
  int worst = 0;
  for (int q = 0; q < 4; ++q) {
    std::set<int> words;
    for (int lane = 8 * q; lane < 8 * q + 8; ++lane) words.insert(lane_offsets[lane]);
    std::vector<int> per_group(8, 0);
    for (int w : words) ++per_group[static_cast<size_t>((w / 4) % 8)];
    for (int n : per_group) worst = std::max(worst, n);
  }
  return worst;
}

TEST(Conv2dV3Layout, FragmentReadsAreAlignedAndBankConflictFree) {
  static_assert(kAStageFloats % 4 == 0 && kBStageFloats % 4 == 0, "stages stay 16-byte aligned");
  for (int warp = 0; warp < kThreads / 32; ++warp)
    for (int k = 0; k < kBK; ++k)
      for (int h = 0; h < 2; ++h) {
        std::vector<int> a(32), b(32);
        for (int lane = 0; lane < 32; ++lane) {
          const int tid = 32 * warp + lane;
          a[lane] = smem_offset(kBM, thread_row(tid, 0) + 32 * h, k);
          b[lane] = smem_offset(kBN, thread_col(tid, 0) + 16 * h, k);
          ASSERT_EQ(a[lane] % 4, 0);
          ASSERT_EQ(b[lane] % 4, 0);
        }
        EXPECT_EQ(quarter_wavefronts(a), 1) << "A, warp " << warp << " k " << k << " h " << h;
        EXPECT_EQ(quarter_wavefronts(b), 1) << "B, warp " << warp << " k " << k << " h " << h;
      }
}

TEST(Conv2dV3Layout, EpilogueOwnsEveryOutputOfTheTileExactlyOnce) {
  std::vector<int> hits(static_cast<size_t>(kBM * kBN), 0);
  for (int tid = 0; tid < kThreads; ++tid)
    for (int i = 0; i < kThreadM; ++i) {
      // The fragments hold rows thread_row(tid, 0) + 32 * (i / 4) + i % 4, and columns
      // thread_col(tid, 0) + 16 * h + 0..3: the epilogue must name the same ones.
      ASSERT_EQ(thread_row(tid, i), thread_row(tid, 0) + 32 * (i / 4) + i % 4);
      for (int h = 0; h < kThreadN / 4; ++h) {
        ASSERT_EQ(thread_col(tid, h), thread_col(tid, 0) + 16 * h);
        ASSERT_EQ(thread_col(tid, h) % 4, 0);  // float4 stores start on a multiple of 4
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

// ---------------------------------------------------------------- a block's arithmetic

Conv2dShape conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                 int64_t stride, int64_t padding) {
  Conv2dShape s;
  s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.R = R, s.S = S, s.stride = stride,
  s.padding = padding;
  return s;
}

std::vector<float> small_ints(int64_t n, int salt) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>((i * 7 + salt) % 7 - 3);
  return v;
}

// One pass as a GEMM: operands a(m, kk), b(kk, j) (0 outside the image), and the output index
// of (m, j); b_depth_fast picks the B loader as the kernel's Parts::kBDepthFast does.
struct GemmView {
  int M, N, K;
  bool b_depth_fast;
  std::function<float(int, int)> a, b;
  std::function<int64_t(int, int)> c;
};

// Runs the kernel's arithmetic for every block: each k-tile filled through the loaders into a
// [k][x] stage (zeros past the edges, NaN never written), each thread's fragments, its
// epilogue. Returns the output, NaN where no thread wrote.
std::vector<float> run_blocks(const GemmView& g, int64_t out_size) {
  std::vector<float> out(static_cast<size_t>(out_size), NAN);
  const int m_tiles = (g.M + kBM - 1) / kBM, n_tiles = (g.N + kBN - 1) / kBN;
  std::vector<float> as(kAStageFloats), bs(kBStageFloats);
  for (int block = 0; block < m_tiles * n_tiles; ++block) {
    const int m0 = block / n_tiles * kBM, n0 = block % n_tiles * kBN;
    std::vector<float> acc(static_cast<size_t>(kThreads) * kThreadM * kThreadN, 0.0f);
    for (int k0 = 0; k0 < g.K; k0 += kBK) {
      std::fill(as.begin(), as.end(), NAN);
      std::fill(bs.begin(), bs.end(), NAN);
      for (int tid = 0; tid < kThreads; ++tid) {
        for (int it = 0; it < kAPer; ++it) {
          const TileCoord t = depth_fast_coord(it, tid);
          const int m = m0 + t.x, kk = k0 + t.k;
          as[static_cast<size_t>(smem_offset(kBM, t.x, t.k))] =
              m < g.M && kk < g.K ? g.a(m, kk) : 0.0f;
        }
        for (int it = 0; it < kBPer; ++it) {
          const TileCoord t =
              g.b_depth_fast ? depth_fast_coord(it, tid) : column_fast_coord(it, tid);
          const int j = n0 + t.x, kk = k0 + t.k;
          bs[static_cast<size_t>(smem_offset(kBN, t.x, t.k))] =
              j < g.N && kk < g.K ? g.b(kk, j) : 0.0f;
        }
      }
      for (int tid = 0; tid < kThreads; ++tid)
        for (int k = 0; k < kBK; ++k)
          for (int i = 0; i < kThreadM; ++i)
            for (int j = 0; j < kThreadN; ++j) {
              const int row = thread_row(tid, 0) + 32 * (i / 4) + i % 4;
              const int col = thread_col(tid, 0) + 16 * (j / 4) + j % 4;
              const float av = as[static_cast<size_t>(smem_offset(kBM, row, k))];
              const float bv = bs[static_cast<size_t>(smem_offset(kBN, col, k))];
              acc[(static_cast<size_t>(tid) * kThreadM + i) * kThreadN + j] += av * bv;
            }
    }
    for (int tid = 0; tid < kThreads; ++tid)
      for (int i = 0; i < kThreadM; ++i) {
        const int r = m0 + thread_row(tid, i);
        if (r >= g.M) continue;
        for (int h = 0; h < kThreadN / 4; ++h)
          for (int j = 0; j < 4; ++j) {
            const int c = n0 + thread_col(tid, h) + j;
            if (c >= g.N) continue;
            float& o = out[static_cast<size_t>(g.c(r, c))];
            EXPECT_TRUE(std::isnan(o)) << "output (" << r << ", " << c << ") written twice";
            o = acc[(static_cast<size_t>(tid) * kThreadM + i) * kThreadN + 4 * h + j];
          }
      }
  }
  return out;
}

void expect_equal(const std::vector<float>& got, const std::vector<float>& want,
                  const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i)
    if (!(got[i] == want[i]))
      ++bad, ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", want " << want[i];
}

TEST(Conv2dV3Layout, EveryBlockOfTheThreePassesMatchesTheCpuTwin) {
  // Tile edges crossed: K = 70 and 66 rows (> 64), 363 and 450 columns (> 256), C*R*S = 27
  // and depths not multiples of 8, stride 2 (backward-data's divisibility), R != S.
  const Conv2dShape shapes[] = {conv(3, 3, 11, 11, 70, 3, 3, 1, 1),
                                conv(2, 5, 15, 15, 66, 3, 3, 2, 1),
                                conv(2, 2, 9, 13, 3, 2, 3, 1, 0)};
  const Context cpu = cpu_context(1);
  for (const Conv2dShape& s : shapes) {
    const std::string what = "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) +
                             " H=" + std::to_string(s.H) + " W=" + std::to_string(s.W) +
                             " K=" + std::to_string(s.K) + " stride=" + std::to_string(s.stride);
    SCOPED_TRACE(what);
    const int N = static_cast<int>(s.N), C = static_cast<int>(s.C), H = static_cast<int>(s.H);
    const int W = static_cast<int>(s.W), K = static_cast<int>(s.K), R = static_cast<int>(s.R);
    const int S = static_cast<int>(s.S), P = static_cast<int>(s.P()), Q = static_cast<int>(s.Q());
    const int st = static_cast<int>(s.stride), pad = static_cast<int>(s.padding);
    const int RS = R * S, CRS = C * RS, PQ = P * Q, HW = H * W;
    const auto x = small_ints(s.x_size(), 1), w = small_ints(s.w_size(), 2);
    const auto dy = small_ints(s.y_size(), 3);
    auto x_at = [&](int n, int c, int h, int ww) {
      return h < 0 || h >= H || ww < 0 || ww >= W
                 ? 0.0f
                 : x[static_cast<size_t>(((n * C + c) * H + h) * W + ww)];
    };

    std::vector<float> want(static_cast<size_t>(s.y_size()));
    cpu::conv2d_forward(cpu, s, x.data(), w.data(), want.data());
    const GemmView fwd{K,
                       N * PQ,
                       CRS,
                       false,
                       [&](int k, int kk) { return w[static_cast<size_t>(k * CRS + kk)]; },
                       [&](int kk, int j) {
                         const int n = j / PQ, p = j % PQ / Q, q = j % Q;
                         const int c = kk / RS, r = kk % RS / S, t = kk % S;
                         return x_at(n, c, p * st - pad + r, q * st - pad + t);
                       },
                       [&](int k, int j) { return int64_t{j / PQ} * K * PQ + k * PQ + j % PQ; }};
    expect_equal(run_blocks(fwd, s.y_size()), want, "forward " + what);

    want.assign(static_cast<size_t>(s.x_size()), 0.0f);
    cpu::conv2d_backward_data(cpu, s, dy.data(), w.data(), want.data());
    const GemmView bwd_data{
        C,
        N * HW,
        K * RS,
        false,
        [&](int c, int kk) {
          const int k = kk / RS, rs = kk % RS;
          return w[static_cast<size_t>(k * CRS + c * RS + rs)];
        },
        [&](int kk, int j) {
          const int n = j / HW, h = j % HW / W, ww = j % W;
          const int k = kk / RS, r = kk % RS / S, t = kk % S;
          const int th = h + pad - r, tw = ww + pad - t;  // = p * stride, q * stride
          if (th < 0 || tw < 0 || th % st != 0 || tw % st != 0) return 0.0f;
          const int p = th / st, q = tw / st;
          if (p >= P || q >= Q) return 0.0f;
          return dy[static_cast<size_t>(((n * K + k) * P + p) * Q + q)];
        },
        [&](int c, int j) { return int64_t{j / HW} * C * HW + c * HW + j % HW; }};
    expect_equal(run_blocks(bwd_data, s.x_size()), want, "backward_data " + what);

    want.assign(static_cast<size_t>(s.w_size()), 0.0f);
    cpu::conv2d_backward_weight(cpu, s, x.data(), dy.data(), want.data());
    const GemmView bwd_weight{
        K,
        CRS,
        N * PQ,
        true,
        [&](int k, int kk) { return dy[static_cast<size_t>((kk / PQ * K + k) * PQ + kk % PQ)]; },
        [&](int kk, int j) {
          const int n = kk / PQ, p = kk % PQ / Q, q = kk % Q;
          const int c = j / RS, r = j % RS / S, t = j % S;
          return x_at(n, c, p * st - pad + r, q * st - pad + t);
        },
        [&](int k, int j) { return int64_t{k} * CRS + j; }};
    expect_equal(run_blocks(bwd_weight, s.w_size()), want, "backward_weight " + what);
  }
}

}  // namespace
}  // namespace cudp::cuda::conv3
