// The index math of the tf32 tensor-core kernels, run on the CPU
// (kernels/cuda/mma_tf32_layout.h): fragment maps, the XOR swizzles, ldmatrix row
// addresses, tile loaders and the epilogue, and a warp's mma.sync emulated from them.
// No GPU here: what the hardware does is written down from the PTX ISA (the fragment
// tables of mma.m16n8k8 .tf32 and ldmatrix's register semantics) and emulated, so a
// wrong index fails on every CI run instead of on the next lent GPU.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "kernels/cuda/mma_tf32_layout.h"

namespace cudp::mma_tf32 {
namespace {

constexpr int kBanks = 32;

TEST(MmaTf32Layout, FragmentsCoverTheirTilesOnce) {
  std::vector<int> a(16 * 8), b(8 * 8), c(16 * 8);
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 4; ++i) ++a[a_fragment(lane, i).row * 8 + a_fragment(lane, i).col];
    for (int i = 0; i < 2; ++i) ++b[b_fragment(lane, i).row * 8 + b_fragment(lane, i).col];
    for (int i = 0; i < 4; ++i) ++c[c_fragment(lane, i).row * 8 + c_fragment(lane, i).col];
  }
  for (int n : a) EXPECT_EQ(n, 1);
  for (int n : b) EXPECT_EQ(n, 1);
  for (int n : c) EXPECT_EQ(n, 1);
  // The PTX table, spot-checked: lane 5 is group 1, thread 1.
  EXPECT_EQ(a_fragment(5, 3).row, 9);
  EXPECT_EQ(a_fragment(5, 3).col, 5);
  EXPECT_EQ(b_fragment(5, 1).row, 5);
  EXPECT_EQ(b_fragment(5, 1).col, 1);
  EXPECT_EQ(c_fragment(5, 3).row, 9);
  EXPECT_EQ(c_fragment(5, 3).col, 3);
}

// offset(x, k) must be a bijection onto [0, bx * 16) that keeps each 16-byte chunk whole.
template <class Offset>
void expect_swizzle_bijective_and_chunked(int bx, Offset offset) {
  std::vector<int> hits(static_cast<size_t>(bx) * kBK);
  for (int x = 0; x < bx; ++x)
    for (int k = 0; k < kBK; ++k) {
      const int o = offset(x, k);
      ASSERT_GE(o, 0);
      ASSERT_LT(o, bx * kBK);
      ++hits[static_cast<size_t>(o)];
    }
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(MmaTf32Layout, SwizzlesAreBijectionsThatKeepChunksWhole) {
  for (int bx : {64, 128}) {
    expect_swizzle_bijective_and_chunked(bx, [](int x, int k) { return kmajor_offset(x, k); });
    expect_swizzle_bijective_and_chunked(bx,
                                         [bx](int x, int k) { return xmajor_offset(bx, x, k); });
    for (int x = 0; x < bx; ++x)
      for (int k = 0; k < kBK; k += 4) {
        EXPECT_EQ(kmajor_offset(x, k) % 4, 0);
        for (int j = 1; j < 4; ++j) EXPECT_EQ(kmajor_offset(x, k + j), kmajor_offset(x, k) + j);
      }
    for (int k = 0; k < kBK; ++k)
      for (int x = 0; x < bx; x += 4) {
        EXPECT_EQ(xmajor_offset(bx, x, k) % 4, 0);
        for (int j = 1; j < 4; ++j)
          EXPECT_EQ(xmajor_offset(bx, x + j, k), xmajor_offset(bx, x, k) + j);
      }
  }
}

// The 32 four-byte accesses of one warp instruction (or of one 128-byte phase) hit 32
// different banks.
void expect_conflict_free(const std::vector<int>& offsets, const std::string& what) {
  ASSERT_EQ(offsets.size(), 32u) << what;
  std::set<int> banks;
  for (int o : offsets) banks.insert(o % kBanks);
  EXPECT_EQ(banks.size(), 32u) << what << ": a bank conflict";
}

TEST(MmaTf32Layout, FragmentReadsAreFreeOfBankConflicts) {
  for (int bx : {64, 128})
    for (int x0 = 0; x0 < bx; x0 += 8)  // any m16 / n8 tile origin a warp may have
      for (int k0 : {0, 8}) {
        // ldmatrix: each matrix is one phase of 8 rows x 16 bytes.
        for (int j = 0; j < 4; ++j) {
          std::vector<int> a, b;
          for (int r = 0; r < 8; ++r) {
            const XK pa = ldmatrix_a_row(8 * j + r, x0 & ~15, k0);
            const XK pb = ldmatrix_b_row(8 * j + r, x0 & ~15, k0);
            for (int w = 0; w < 4; ++w) {
              a.push_back(kmajor_offset(pa.x, pa.k) + w);
              b.push_back(kmajor_offset(pb.x, pb.k) + w);
            }
          }
          expect_conflict_free(a, "ldmatrix A matrix " + std::to_string(j));
          expect_conflict_free(b, "ldmatrix B matrix " + std::to_string(j));
        }
        // x-major tiles: one 32-bit load per register.
        for (int i = 0; i < 4; ++i) {
          std::vector<int> o;
          for (int lane = 0; lane < 32; ++lane) {
            const Coord c = a_fragment(lane, i);
            o.push_back(xmajor_offset(bx, (x0 & ~15) + c.row, k0 + c.col));
          }
          expect_conflict_free(o, "x-major A register " + std::to_string(i));
        }
        for (int i = 0; i < 2; ++i) {
          std::vector<int> o;
          for (int lane = 0; lane < 32; ++lane) {
            const Coord c = b_fragment(lane, i);
            o.push_back(xmajor_offset(bx, x0 + c.col, k0 + c.row));
          }
          expect_conflict_free(o, "x-major B register " + std::to_string(i));
        }
      }
}

TEST(MmaTf32Layout, TileStoresAreFreeOfBankConflicts) {
  for (int bx : {64, 128})
    for (int warp = 0; warp < kThreads / 32; ++warp)
      for (int it = 0; it < bx * kBK / kThreads; ++it) {
        // 4-byte copies: the warp's 32 stores at once.
        std::vector<int> k4, x4;
        for (int lane = 0; lane < 32; ++lane) {
          const XK ek = kmajor_element(32 * warp + lane, it);
          const XK ex = xmajor_element(bx, 32 * warp + lane, it);
          k4.push_back(kmajor_offset(ek.x, ek.k));
          x4.push_back(xmajor_offset(bx, ex.x, ex.k));
        }
        expect_conflict_free(k4, "4-byte k-major store");
        expect_conflict_free(x4, "4-byte x-major store");
        // 16-byte copies: 8 threads (128 bytes) per phase.
        if (it >= bx * kBK / 4 / kThreads) continue;
        for (int phase = 0; phase < 4; ++phase) {
          std::vector<int> k16, x16;
          for (int t = 0; t < 8; ++t) {
            const int tid = 32 * warp + 8 * phase + t;
            const XK ek = kmajor_chunk(tid, it);
            const XK ex = xmajor_chunk(bx, tid, it);
            for (int w = 0; w < 4; ++w) {
              k16.push_back(kmajor_offset(ek.x, ek.k) + w);
              x16.push_back(xmajor_offset(bx, ex.x, ex.k) + w);
            }
          }
          expect_conflict_free(k16, "16-byte k-major store");
          expect_conflict_free(x16, "16-byte x-major store");
        }
      }
}

TEST(MmaTf32Layout, LoadersCoverEveryTileElementOnce) {
  for (int bx : {64, 128}) {
    std::vector<int> k16(bx * kBK), x16(bx * kBK), k4(bx * kBK), x4(bx * kBK);
    for (int tid = 0; tid < kThreads; ++tid) {
      for (int it = 0; it < bx * kBK / 4 / kThreads; ++it) {
        const XK ek = kmajor_chunk(tid, it), ex = xmajor_chunk(bx, tid, it);
        for (int w = 0; w < 4; ++w) {
          ++k16[static_cast<size_t>(ek.x * kBK + ek.k + w)];
          ++x16[static_cast<size_t>((ex.x + w) * kBK + ex.k)];
        }
      }
      for (int it = 0; it < bx * kBK / kThreads; ++it) {
        const XK ek = kmajor_element(tid, it), ex = xmajor_element(bx, tid, it);
        ++k4[static_cast<size_t>(ek.x * kBK + ek.k)];
        ++x4[static_cast<size_t>(ex.x * kBK + ex.k)];
      }
    }
    for (auto* v : {&k16, &x16, &k4, &x4})
      for (int h : *v) EXPECT_EQ(h, 1) << "tile of " << bx;
  }
}

// The GEMM's copies over a whole operand, tile by tile as gemm_tf32.cu walks them: every
// element of an X x K operand is read exactly once, from its own address, for both
// majors, 16-byte and 4-byte copies, and sizes that are not multiples of a tile; nothing
// outside is read (those copies zero-fill).
TEST(MmaTf32Layout, GemmCopiesReadEachOperandElementOnce) {
  for (bool k_major : {true, false})
    for (bool vec : {true, false})
      for (auto [X, K] : {std::pair<int, int>{1, 1}, {128, 16}, {129, 17}, {300, 52}, {64, 4}}) {
        if (vec && (k_major ? K : X) % 4 != 0) continue;  // the launcher's rule for 16 bytes
        const int BX = 128;
        std::vector<int> reads(static_cast<size_t>(X) * K);
        for (int x0 = 0; x0 < X; x0 += BX)
          for (int k0 = 0; k0 < K; k0 += kBK)
            for (int tid = 0; tid < kThreads; ++tid)
              for (int it = 0; it < BX * kBK / (vec ? 4 : 1) / kThreads; ++it) {
                const XK e = vec ? (k_major ? kmajor_chunk(tid, it) : xmajor_chunk(BX, tid, it))
                                 : (k_major ? kmajor_element(tid, it)
                                            : xmajor_element(BX, tid, it));
                const int gx = x0 + e.x, gk = k0 + e.k;
                if (!operand_inside(X, K, gx, gk)) continue;
                for (int w = 0; w < (vec ? 4 : 1); ++w) {
                  const int ex = gx + (vec && !k_major ? w : 0), ek = gk + (vec && k_major ? w : 0);
                  ASSERT_TRUE(operand_inside(X, K, ex, ek)) << "a 16-byte copy straddles the edge";
                  const long long o = operand_offset(k_major, X, K, gx, gk) + w;
                  ASSERT_EQ(o, k_major ? static_cast<long long>(ex) * K + ek
                                       : static_cast<long long>(ek) * X + ex);
                  ++reads[static_cast<size_t>(o)];
                }
              }
        for (int r : reads)
          ASSERT_EQ(r, 1) << (k_major ? "k" : "x") << "-major " << (vec ? "16" : "4")
                          << "-byte, " << X << " x " << K;
      }
}

// One block's stage emulated warp by warp: tiles stored through the swizzles as the
// loaders place them, fragments read as warp_mma_stage reads them (ldmatrix emulated
// from its register semantics), the mma summed exactly in integers, and the C fragments
// mapped back through the epilogue's coordinates. Every output of the block must equal
// the integer product of the tiles, and be produced exactly once.
template <int MT, int NT>
void emulate_block(bool a_kmajor, bool b_kmajor) {
  constexpr int BM = 2 * 16 * MT, BN = 4 * 8 * NT;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(-8, 8);
  std::vector<int> A(BM * kBK), B(kBK * BN);  // A[m][k], B[k][n]
  for (int& v : A) v = small(rng);
  for (int& v : B) v = small(rng);
  std::vector<int> As(BM * kBK), Bs(BN * kBK);  // shared memory
  for (int m = 0; m < BM; ++m)
    for (int k = 0; k < kBK; ++k)
      As[a_kmajor ? kmajor_offset(m, k) : xmajor_offset(BM, m, k)] = A[m * kBK + k];
  for (int n = 0; n < BN; ++n)
    for (int k = 0; k < kBK; ++k)
      Bs[b_kmajor ? kmajor_offset(n, k) : xmajor_offset(BN, n, k)] = B[k * BN + n];

  // ldmatrix.x4: register j of lane l = word l % 4 of the row that lane 8 j + l / 4 named.
  auto ldmatrix = [](const std::vector<int>& s, const std::vector<int>& row_offset, int lane,
                     int j) { return s[static_cast<size_t>(row_offset[8 * j + lane / 4] + lane % 4)]; };

  std::vector<int64_t> out(BM * BN);
  std::vector<int> written(BM * BN);
  for (int warp = 0; warp < kThreads / 32; ++warp) {
    const int wm = warp_row0(warp, MT), wn = warp_col0(warp, NT);
    std::vector<int64_t> acc(MT * NT * 32 * 4);
    for (int k0 = 0; k0 < kBK; k0 += 8) {
      std::vector<int> a(MT * 32 * 4), b(NT * 32 * 2);  // [tile][lane][register]
      for (int mi = 0; mi < MT; ++mi) {
        std::vector<int> rows(32);
        for (int lane = 0; lane < 32; ++lane) {
          const XK p = ldmatrix_a_row(lane, wm + 16 * mi, k0);
          rows[lane] = kmajor_offset(p.x, p.k);
        }
        for (int lane = 0; lane < 32; ++lane)
          for (int i = 0; i < 4; ++i) {
            const Coord c = a_fragment(lane, i);
            a[(mi * 32 + lane) * 4 + i] =
                a_kmajor ? ldmatrix(As, rows, lane, i)
                         : As[xmajor_offset(BM, wm + 16 * mi + c.row, k0 + c.col)];
          }
      }
      for (int ni = 0; ni < NT; ni += 2) {
        std::vector<int> rows(32);
        for (int lane = 0; lane < 32; ++lane) {
          const XK p = ldmatrix_b_row(lane, wn + 8 * ni, k0);
          rows[lane] = kmajor_offset(p.x, p.k);
        }
        for (int lane = 0; lane < 32; ++lane)
          for (int h = 0; h < 2; ++h)
            for (int i = 0; i < 2; ++i) {
              const Coord c = b_fragment(lane, i);
              b[((ni + h) * 32 + lane) * 2 + i] =
                  b_kmajor ? ldmatrix(Bs, rows, lane, 2 * h + i)
                           : Bs[xmajor_offset(BN, wn + 8 * (ni + h) + c.col, k0 + c.row)];
            }
      }
      // mma.sync: rebuild each operand tile from the warp's registers by the PTX tables.
      for (int mi = 0; mi < MT; ++mi)
        for (int ni = 0; ni < NT; ++ni) {
          int at[16][8], bt[8][8];
          for (int lane = 0; lane < 32; ++lane) {
            for (int i = 0; i < 4; ++i) {
              const Coord c = a_fragment(lane, i);
              at[c.row][c.col] = a[(mi * 32 + lane) * 4 + i];
            }
            for (int i = 0; i < 2; ++i) {
              const Coord c = b_fragment(lane, i);
              bt[c.row][c.col] = b[(ni * 32 + lane) * 2 + i];
            }
          }
          for (int lane = 0; lane < 32; ++lane)
            for (int i = 0; i < 4; ++i) {
              const Coord c = c_fragment(lane, i);
              int64_t sum = 0;
              for (int k = 0; k < 8; ++k) sum += at[c.row][k] * bt[k][c.col];
              acc[((mi * NT + ni) * 32 + lane) * 4 + i] += sum;
            }
        }
    }
    for (int mi = 0; mi < MT; ++mi)
      for (int ni = 0; ni < NT; ++ni)
        for (int lane = 0; lane < 32; ++lane)
          for (int i = 0; i < 4; ++i) {
            const Coord c = c_fragment(lane, i);
            const int row = wm + 16 * mi + c.row, col = wn + 8 * ni + c.col;
            out[row * BN + col] = acc[((mi * NT + ni) * 32 + lane) * 4 + i];
            ++written[row * BN + col];
          }
  }
  for (int m = 0; m < BM; ++m)
    for (int n = 0; n < BN; ++n) {
      int64_t want = 0;
      for (int k = 0; k < kBK; ++k) want += A[m * kBK + k] * B[k * BN + n];
      ASSERT_EQ(written[m * BN + n], 1) << "output (" << m << ", " << n << ")";
      ASSERT_EQ(out[m * BN + n], want) << "output (" << m << ", " << n << "), A "
                                       << (a_kmajor ? "k" : "x") << "-major, B "
                                       << (b_kmajor ? "k" : "x") << "-major";
    }
}

TEST(MmaTf32Layout, EmulatedWarpMmaGivesTheTileProduct) {
  for (bool ak : {true, false})
    for (bool bk : {true, false}) {
      emulate_block<4, 4>(ak, bk);  // the GEMM's 128 x 128
      emulate_block<2, 4>(ak, bk);  // the convolution's 64 x 128
    }
}


// ---------------------------------------------------------------- wgmma (tf32 GEMM v2)

TEST(WgmmaTf32Layout, TileIsABijectionOfWholeAlignedChunks) {
  std::vector<int> hits(wgmma::kBM * wgmma::kBK);
  for (int x = 0; x < wgmma::kBM; ++x)
    for (int k = 0; k < wgmma::kBK; ++k) {
      const int o = wgmma::tile_byte_offset(x, k);
      ASSERT_EQ(o % 4, 0);
      ASSERT_LT(o / 4, wgmma::kBM * wgmma::kBK);
      ++hits[static_cast<size_t>(o / 4)];
      if (k % 4 == 0) EXPECT_EQ(o % 16, 0);
      else EXPECT_EQ(o, wgmma::tile_byte_offset(x, k - 1) + 4);
    }
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(WgmmaTf32Layout, CopiesCoverTheTileOnceAndStoreWithoutConflicts) {
  std::vector<int> hits(wgmma::kBM * wgmma::kBK / 4);
  for (int tid = 0; tid < wgmma::kThreads; ++tid)
    for (int it = 0; it < wgmma::kChunksPerThread; ++it) {
      const XK e = wgmma::chunk(tid, it);
      ASSERT_LT(e.x, wgmma::kBM);
      ASSERT_LT(e.k, wgmma::kBK);
      ASSERT_EQ(e.k % 4, 0);
      ++hits[static_cast<size_t>(e.x * (wgmma::kBK / 4) + e.k / 4)];
    }
  for (int h : hits) EXPECT_EQ(h, 1);
  for (int it = 0; it < wgmma::kChunksPerThread; ++it)
    for (int phase = 0; phase < wgmma::kThreads / 8; ++phase) {
      std::vector<int> words;
      for (int t = 0; t < 8; ++t) {
        const XK e = wgmma::chunk(8 * phase + t, it);
        for (int w = 0; w < 4; ++w) words.push_back(wgmma::tile_byte_offset(e.x, e.k) / 4 + w);
      }
      expect_conflict_free(words, "wgmma 16-byte store");
    }
}

// The hardware's reads through each descriptor the kernel builds (start at the warpgroup's
// rows and the k-step, LBO and SBO as set) land on the elements the loaders put there.
TEST(WgmmaTf32Layout, DescriptorReadsMatchTheTile) {
  for (int kk = 0; kk < wgmma::kBK; kk += 8) {
    for (int group = 0; group < 2; ++group) {
      const int start = wgmma::tile_byte_offset(64 * group, kk);
      for (int m = 0; m < 64; ++m)
        for (int k = 0; k < 8; ++k)
          ASSERT_EQ(wgmma::descriptor_read_offset(start, wgmma::kLBO, wgmma::kSBO, m, k),
                    wgmma::tile_byte_offset(64 * group + m, kk + k))
              << "A, warpgroup " << group << ", k-step " << kk << ", (" << m << ", " << k << ")";
    }
    const int start = wgmma::tile_byte_offset(0, kk);
    for (int n = 0; n < wgmma::kBN; ++n)
      for (int k = 0; k < 8; ++k)
        ASSERT_EQ(wgmma::descriptor_read_offset(start, wgmma::kLBO, wgmma::kSBO, n, k),
                  wgmma::tile_byte_offset(n, kk + k))
            << "B, k-step " << kk << ", (" << n << ", " << k << ")";
  }
  // Start addresses, LBO and SBO are in 16-byte units in the descriptor's 14-bit fields.
  EXPECT_EQ(wgmma::kLBO % 16, 0);
  EXPECT_EQ(wgmma::kSBO % 16, 0);
  const unsigned long long d = wgmma::descriptor_bits(0x1f3a0u, wgmma::kLBO, wgmma::kSBO);
  EXPECT_EQ(d & 0x3fffu, 0x1f3a0u >> 4);
  EXPECT_EQ((d >> 16) & 0x3fffu, static_cast<unsigned>(wgmma::kLBO) >> 4);
  EXPECT_EQ((d >> 32) & 0x3fffu, static_cast<unsigned>(wgmma::kSBO) >> 4);
  EXPECT_EQ(d >> 46, 0u) << "base offset and swizzle must be 0 (canonical, no swizzle)";
  EXPECT_EQ((d >> 14) & 3u, 0u);
  EXPECT_EQ((d >> 30) & 3u, 0u);
}

// A block emulated: tiles from the loaders, each wgmma's operands read back through its
// descriptors, D registers mapped through accumulator(): the integer product, each output once.
TEST(WgmmaTf32Layout, EmulatedBlockGivesTheTileProduct) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> small(-8, 8);
  const int BM = wgmma::kBM, BN = wgmma::kBN, BK = wgmma::kBK;
  std::vector<int> A(BM * BK), B(BN * BK);  // A[m][k], B[n][k]
  for (int& v : A) v = small(rng);
  for (int& v : B) v = small(rng);
  std::vector<int> As(BM * BK), Bs(BN * BK);
  for (int tid = 0; tid < wgmma::kThreads; ++tid)
    for (int it = 0; it < wgmma::kChunksPerThread; ++it) {
      const XK e = wgmma::chunk(tid, it);
      for (int w = 0; w < 4; ++w) {
        As[static_cast<size_t>(wgmma::tile_byte_offset(e.x, e.k + w) / 4)] = A[e.x * BK + e.k + w];
        Bs[static_cast<size_t>(wgmma::tile_byte_offset(e.x, e.k + w) / 4)] = B[e.x * BK + e.k + w];
      }
    }
  std::vector<int64_t> D(BM * BN);  // what the two warpgroups' m64n128 accumulators hold
  for (int group = 0; group < 2; ++group)
    for (int kk = 0; kk < BK; kk += 8) {
      const int sa = wgmma::tile_byte_offset(64 * group, kk), sb = wgmma::tile_byte_offset(0, kk);
      for (int m = 0; m < 64; ++m)
        for (int n = 0; n < BN; ++n)
          for (int k = 0; k < 8; ++k)
            D[(64 * group + m) * BN + n] +=
                int64_t{As[static_cast<size_t>(
                    wgmma::descriptor_read_offset(sa, wgmma::kLBO, wgmma::kSBO, m, k) / 4)]} *
                Bs[static_cast<size_t>(
                    wgmma::descriptor_read_offset(sb, wgmma::kLBO, wgmma::kSBO, n, k) / 4)];
    }
  std::vector<int> written(BM * BN);
  for (int tid = 0; tid < wgmma::kThreads; ++tid)
    for (int i = 0; i < 64; ++i) {
      const Coord c = wgmma::accumulator(tid, i);
      ASSERT_LT(c.row, BM);
      ASSERT_LT(c.col, BN);
      ++written[c.row * BN + c.col];
    }
  for (int m = 0; m < BM; ++m)
    for (int n = 0; n < BN; ++n) {
      int64_t want = 0;
      for (int k = 0; k < BK; ++k) want += A[m * BK + k] * B[n * BK + k];
      ASSERT_EQ(D[m * BN + n], want) << "(" << m << ", " << n << ")";
      ASSERT_EQ(written[m * BN + n], 1) << "(" << m << ", " << n << ")";
    }
}

// The accumulator map is the m16n8 C fragment of each warp, repeated per n8 block.
TEST(WgmmaTf32Layout, AccumulatorIsTheMmaFragmentPerWarpAndN8Block) {
  for (int tid = 0; tid < wgmma::kThreads; ++tid)
    for (int i = 0; i < 64; ++i) {
      const Coord w = wgmma::accumulator(tid, i);
      const Coord f = c_fragment(tid % 32, i % 4);
      EXPECT_EQ(w.row, 64 * (tid / 128) + 16 * ((tid % 128) / 32) + f.row);
      EXPECT_EQ(w.col, 8 * (i / 4) + f.col);
    }
}

}  // namespace
}  // namespace cudp::mma_tf32
