// The Communicator on CPU devices against closed forms (parallel/communicator.h),
// over bucket plans of one or several buckets, both routes (Whole, Parts).
//
// Rank r contributes r+1 everywhere, so a sum over M ranks is M(M+1)/2 exactly;
// random data is checked against a double-precision sum, and the summation
// order itself against the tree's, the star's and the ring's parenthesization computed
// here in float. N = 1..8, sizes 0, 1, odd and several MiB, tree, star and ring,
// chunks from one float to larger than the buffer.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/communicator.h"
#include "runtime/error.h"
#include "tests/common/poison.h"
#include "tests/common/tolerance.h"

namespace cudp {
namespace {

std::vector<Device> cpus(int n) {
  std::vector<Device> d;
  for (int i = 0; i < n; ++i) d.push_back(cpu_device(i));
  return d;
}

// One Buffer per rank, filled from host vectors; read back after synchronize.
struct RankBuffers {
  std::vector<Buffer<float>> buffers;
  RankBuffers(DeviceGroup& group, int ranks, const std::vector<std::vector<float>>& values) {
    for (int r = 0; r < ranks; ++r) {
      buffers.emplace_back(group[r].device, values[r].size());
      if (!values[r].empty())
        std::memcpy(buffers.back().data(), values[r].data(), values[r].size() * 4);
    }
  }
  std::vector<float*> pointers() {
    std::vector<float*> p;
    for (auto& b : buffers) p.push_back(b.data());
    return p;
  }
  std::vector<float> host(int r) const {
    const auto& b = buffers[r];
    return std::vector<float>(b.data(), b.data() + b.size());
  }
};

std::vector<std::vector<float>> rank_plus_one(int ranks, int64_t n) {
  std::vector<std::vector<float>> v;
  for (int r = 0; r < ranks; ++r) v.emplace_back(static_cast<std::size_t>(n), float(r + 1));
  return v;
}

std::string label(int ranks, int64_t n, ReduceAlgorithm a, std::size_t chunk) {
  return concat("N=", ranks, " n=", n, " ", reduce_algorithm_name(a), " chunk=", chunk);
}

// A plan over buckets of these sizes and a communicator over it. The whole-
// buffer calls are one bucket, plan.whole(), after the work queued so far.
struct Comm {
  DeviceGroup& group;
  BucketPlan plan;
  Communicator c;
  Comm(DeviceGroup& g, std::vector<int64_t> sizes, PlanOptions options)
      : group(g), plan(sizes, g, options), c(g, plan) {}
  int ranks(const std::vector<float*>& p) const { return static_cast<int>(p.size()); }
  void reduce(const std::vector<float*>& p) {
    c.reduce(plan.whole(), p, c.ready_now(ranks(p)));
    c.finish(plan.whole(), ranks(p));
  }
  void all_reduce(const std::vector<float*>& p) {
    c.all_reduce(plan.whole(), p, c.ready_now(ranks(p)));
    c.finish(plan.whole(), ranks(p));
  }
  void broadcast(const std::vector<float*>& p) {
    c.broadcast(plan.whole(), p);
    c.finish(plan.whole(), ranks(p));
  }
};

// The ring slice (split_range over the whole buffer) that holds element i.
int slice_of(int64_t i, int64_t n, int ranks) {
  for (int c = 0; c < ranks; ++c) {
    const Range r = split_range(n, ranks, c);
    if (i >= r.begin && i < r.end) return c;
  }
  return -1;
}

PlanOptions whole_route(ReduceAlgorithm a, std::size_t chunk, bool direct = true) {
  return {a, chunk, direct, int64_t{1} << 60};
}
PlanOptions parts_route(ReduceAlgorithm a = ReduceAlgorithm::Tree) {
  return {a, std::size_t{1} << 20, true, 1};
}

TEST(Schedule, TreeLevelsFollowTheBinomialRule) {
  const auto levels = reduce_levels(6, ReduceAlgorithm::Tree);
  ASSERT_EQ(levels.size(), 3u);  // ceil(log2 6)
  auto pairs = [](const std::vector<Edge>& level) {
    std::string s;
    for (const Edge& e : level) s += concat(e.to, "<", e.from, " ");
    return s;
  };
  EXPECT_EQ(pairs(levels[0]), "0<1 2<3 4<5 ");
  EXPECT_EQ(pairs(levels[1]), "0<2 ");
  EXPECT_EQ(pairs(levels[2]), "0<4 ");
  const auto down = broadcast_levels(6, ReduceAlgorithm::Tree);
  EXPECT_EQ(pairs(down[0]), "4<0 ");
  EXPECT_EQ(pairs(down[2]), "1<0 3<2 5<4 ");
  EXPECT_EQ(pairs(reduce_levels(4, ReduceAlgorithm::Star)[2]), "0<3 ");
  EXPECT_EQ(pairs(broadcast_levels(4, ReduceAlgorithm::Star)[0]), "1<0 2<0 3<0 ");
  EXPECT_TRUE(reduce_levels(1, ReduceAlgorithm::Tree).empty());
  // Another root: ranks are taken relative to it.
  EXPECT_EQ(pairs(reduce_levels(3, ReduceAlgorithm::Tree, 2)[0]), "2<0 ");
  for (int n = 1; n <= 9; ++n) {
    int edges = 0;
    for (const auto& level : reduce_levels(n, ReduceAlgorithm::Tree)) edges += level.size();
    EXPECT_EQ(edges, n - 1) << "N=" << n;
  }
}

// The ring: at reduce-scatter step s rank r adds slice r-1-s of rank r-1, so
// slice c starts at rank c and its sum ends at rank c-1; the all-gather
// passes each sum on round the ring; dp's gather brings them to rank 0.
TEST(Schedule, RingStepsGoRoundTheRing) {
  auto hops = [](const std::vector<SliceEdge>& step) {
    std::string s;
    for (const SliceEdge& h : step) s += concat(h.to, "<", h.from, ":", h.slice, " ");
    return s;
  };
  const auto rs = ring_steps(4, RingPhase::ReduceScatter);
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(hops(rs[0]), "0<3:3 1<0:0 2<1:1 3<2:2 ");
  EXPECT_EQ(hops(rs[1]), "0<3:2 1<0:3 2<1:0 3<2:1 ");
  EXPECT_EQ(hops(rs[2]), "0<3:1 1<0:2 2<1:3 3<2:0 ");
  const auto ag = ring_steps(4, RingPhase::AllGather);
  ASSERT_EQ(ag.size(), 3u);
  EXPECT_EQ(hops(ag[0]), "0<3:0 1<0:1 2<1:2 3<2:3 ");
  EXPECT_EQ(hops(ag[2]), "0<3:2 1<0:3 2<1:0 3<2:1 ");
  EXPECT_EQ(hops(ring_steps(3, RingPhase::Gather)[0]), "0<2:0 0<1:2 ");
  EXPECT_TRUE(ring_steps(1, RingPhase::ReduceScatter).empty());
  EXPECT_THROW(reduce_levels(4, ReduceAlgorithm::Ring), Error);
  for (int m = 2; m <= 9; ++m) {
    // Every slice visits every rank once: M-1 adds, and its owner holds it last.
    std::vector<std::vector<int>> adds(static_cast<std::size_t>(m), std::vector<int>(m, 0));
    std::vector<int> last(static_cast<std::size_t>(m), -1);
    for (const auto& step : ring_steps(m, RingPhase::ReduceScatter)) {
      std::vector<int> slices;
      for (const SliceEdge& h : step) {
        ++adds[h.slice][h.to];
        last[h.slice] = h.to;
        slices.push_back(h.slice);
      }
      std::sort(slices.begin(), slices.end());
      EXPECT_EQ(std::unique(slices.begin(), slices.end()), slices.end()) << "M=" << m;
    }
    for (int c = 0; c < m; ++c) {
      EXPECT_EQ(last[c], ring_owner(m, c)) << "M=" << m << " slice " << c;
      for (int r = 0; r < m; ++r) EXPECT_EQ(adds[c][r], r == c ? 0 : 1) << "M=" << m;
    }
    // The all-gather: every rank but the owner receives every sum once, after it is made.
    std::vector<std::vector<int>> has(static_cast<std::size_t>(m), std::vector<int>(m, 0));
    for (int c = 0; c < m; ++c) has[c][ring_owner(m, c)] = 1;
    for (const auto& step : ring_steps(m, RingPhase::AllGather))
      for (const SliceEdge& h : step) {
        EXPECT_EQ(has[h.slice][h.from], 1) << "M=" << m << ": a copy of a sum not yet there";
        ++has[h.slice][h.to];
      }
    for (int c = 0; c < m; ++c)
      for (int r = 0; r < m; ++r) EXPECT_EQ(has[c][r], 1) << "M=" << m;
  }
}

// One event per rank, recorded now on its compute stream: "the bucket is ready
// once everything queued so far there has run".
struct ReadyNow {
  std::vector<Event> events;
  ReadyNow(DeviceGroup& group, int ranks) {
    events.reserve(static_cast<std::size_t>(ranks));
    for (int r = 0; r < ranks; ++r) {
      events.emplace_back(group[r].device);
      group[r].compute.record(events.back());
    }
  }
  std::vector<Event*> pointers() {
    std::vector<Event*> p;
    for (Event& e : events) p.push_back(&e);
    return p;
  }
};

TEST(Collectives, RankPlusOneSumsExactlyForEveryShape) {
  for (int ranks = 1; ranks <= 8; ++ranks) {
    DeviceGroup group(cpus(ranks), 0);
    for (ReduceAlgorithm algorithm : {ReduceAlgorithm::Tree, ReduceAlgorithm::Star,
                                      ReduceAlgorithm::Ring}) {
      for (int64_t n : {0, 1, 7, 1001}) {
        // Chunks that split n unevenly (one float, three, 100 or 1000 floats) and
        // one larger than n; a chunk of one float is kept to the small sizes.
        const std::size_t small = n > 100 ? 400 : 4, uneven = n > 100 ? 4000 : 12;
        for (std::size_t chunk : {small, uneven, std::size_t{1} << 20}) {
          for (bool direct : {false, true}) {
            if (direct && chunk != small) continue;  // a direct edge has no chunks
            Comm c(group, {n}, whole_route(algorithm, chunk, direct));
            const float expected = ranks * (ranks + 1) / 2.0f;
            const std::string what = label(ranks, n, algorithm, chunk) + (direct ? " direct" : "");
            {
              RankBuffers b(group, ranks, rank_plus_one(ranks, n));
              c.reduce(b.pointers());
              group.synchronize();
              EXPECT_TRUE(test::all_close(b.host(0), std::vector<float>(n, expected), 0, 0, what));
            }
            {
              RankBuffers b(group, ranks, rank_plus_one(ranks, n));
              c.all_reduce(b.pointers());
              group.synchronize();
              for (int r = 0; r < ranks; ++r)
                EXPECT_TRUE(test::all_close(b.host(r), std::vector<float>(n, expected), 0, 0,
                                            what + concat(" all_reduce rank ", r)));
            }
            {
              RankBuffers b(group, ranks, rank_plus_one(ranks, n));
              c.broadcast(b.pointers());
              group.synchronize();
              for (int r = 0; r < ranks; ++r)
                EXPECT_TRUE(test::all_close(b.host(r), std::vector<float>(n, 1.0f), 0, 0,
                                            what + concat(" broadcast to rank ", r)));
            }
          }
        }
      }
    }
  }
}

TEST(Collectives, SeveralMiBOfRandomDataAgainstADoubleSum) {
  const int64_t n = (3 << 20) / 4 + 3;  // 3 MiB and an odd tail
  for (int ranks : {2, 5, 8}) {
    DeviceGroup group(cpus(ranks), 0);
    std::vector<std::vector<float>> values;
    std::vector<double> sum(static_cast<std::size_t>(n), 0.0);
    for (int r = 0; r < ranks; ++r) {
      values.push_back(test::random_floats(n, 1000 + r));
      for (int64_t i = 0; i < n; ++i) sum[i] += values[r][i];
    }
    std::vector<float> first;
    for (ReduceAlgorithm algorithm :
         {ReduceAlgorithm::Tree, ReduceAlgorithm::Star, ReduceAlgorithm::Ring}) {
      // Tree: three chunk sizes (the last larger than the buffer); star, ring: one.
      std::vector<std::size_t> chunks = {std::size_t{1} << 20};
      if (algorithm == ReduceAlgorithm::Tree) chunks = {64 << 10, 1 << 20, 8 << 20};
      for (std::size_t chunk : chunks) {
        Comm c(group, {n}, whole_route(algorithm, chunk));
        RankBuffers b(group, ranks, values);
        c.all_reduce(b.pointers());
        group.synchronize();
        const std::string what = label(ranks, n, algorithm, chunk);
        EXPECT_TRUE(test::all_close(b.host(0), sum, 1e-6 * ranks, 1e-5, what));
        for (int r = 1; r < ranks; ++r)
          EXPECT_TRUE(test::all_identical(b.host(r), b.host(0), what + " replicas"));
        if (algorithm == ReduceAlgorithm::Tree) {
          // Chunking never changes a bit.
          if (first.empty()) first = b.host(0);
          EXPECT_TRUE(test::all_identical(b.host(0), first, what + " vs the first chunk size"));
        }
      }
    }
  }
}

// The summation order, element by element: tree ((x0+x1)+(x2+x3))+x4 for N=5,
// star (((x0+x1)+x2)+x3)+x4. Values of very different magnitudes make the
// orders give different floats, so a wrong order fails.
TEST(Collectives, SummationOrderIsTheAlgorithmsOwn) {
  const int ranks = 5;
  const int64_t n = 4099;
  std::vector<std::vector<float>> values;
  for (int r = 0; r < ranks; ++r) {
    values.push_back(test::random_floats(n, 7 + r));
    for (float& v : values.back()) v *= (r % 2 ? 1e4f : 1e-3f);
  }
  std::vector<float> tree(n), star(n), ring(n);
  int differ = 0, ring_differs = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x[5] = {&values[0][i], &values[1][i], &values[2][i], &values[3][i], &values[4][i]};
    tree[i] = ((*x[0] + *x[1]) + (*x[2] + *x[3])) + *x[4];
    star[i] = (((*x[0] + *x[1]) + *x[2]) + *x[3]) + *x[4];
    // The ring: slice c (of 5, split_range) starts at rank c and goes round.
    const int c = slice_of(i, n, ranks);
    float sum = *x[c];
    for (int k = 1; k < ranks; ++k) sum += *x[(c + k) % ranks];
    ring[i] = sum;
    differ += tree[i] != star[i];
    ring_differs += ring[i] != tree[i] && ring[i] != star[i];
  }
  ASSERT_GT(differ, 0) << "the data does not tell the orders apart";
  ASSERT_GT(ring_differs, 0) << "the data does not tell the ring from the tree and the star";
  DeviceGroup group(cpus(ranks), 0);
  for (std::size_t chunk : {std::size_t{4}, std::size_t{1000}, std::size_t{1} << 20}) {
    for (bool direct : {false, true}) {
      for (auto [algorithm, expected] :
           {std::pair{ReduceAlgorithm::Tree, &tree}, std::pair{ReduceAlgorithm::Star, &star},
            std::pair{ReduceAlgorithm::Ring, &ring}}) {
        Comm c(group, {1000, 2000, n - 3000}, whole_route(algorithm, chunk, direct));
        const std::string what = label(ranks, n, algorithm, chunk) + (direct ? " direct" : "");
        RankBuffers b(group, ranks, values);
        c.reduce(b.pointers());
        group.synchronize();
        EXPECT_TRUE(test::all_identical(b.host(0), *expected, what));
        // The trainers' buckets sum in the same order, on the copy streams.
        RankBuffers buckets(group, ranks, values);
        ReadyNow ready(group, ranks);
        for (int i : {1, 0, 2})
          c.c.reduce(c.plan.buckets()[i], buckets.pointers(), ready.pointers());
        c.c.join(ranks);
        group.synchronize();
        EXPECT_TRUE(test::all_identical(buckets.host(0), *expected, what + " buckets"));
        // Cut into parts on the compute streams: each part runs every edge.
        if (!direct || algorithm == ReduceAlgorithm::Ring) continue;
        Comm in_parts(group, {n}, parts_route(algorithm));
        ASSERT_EQ(in_parts.plan.route(in_parts.plan.whole(), ranks), Route::Parts);
        RankBuffers parts(group, ranks, values);
        in_parts.reduce(parts.pointers());
        group.synchronize();
        EXPECT_TRUE(test::all_identical(parts.host(0), *expected, what + " parts"));
      }
    }
  }
}

// Buckets run on the copy streams while each compute stream goes on; join()
// makes the compute streams wait for them. all_reduce_bucket leaves the sum
// on every rank; elements outside every bucket are not touched; a bucket
// waits for its ready events, recorded here after a slow step of each rank.
TEST(Collectives, BucketsOverlapLaterComputeAndJoin) {
  for (int ranks : {1, 2, 3, 5}) {
    for (bool direct : {false, true}) {
      DeviceGroup group(cpus(ranks), 0);
      const int64_t n = 10007;
      Comm c(group, {100, 900, 4000, n - 5000 - 7, 7},
             whole_route(ReduceAlgorithm::Tree, 4096, direct));
      Comm whole_buffer(group, {n - 7}, whole_route(ReduceAlgorithm::Tree, 4096, direct));
      std::vector<std::vector<float>> values;
      for (int r = 0; r < ranks; ++r) values.push_back(test::random_floats(n, 300 + r));
      RankBuffers b(group, ranks, values);
      std::vector<float*> p = b.pointers();
      // A slow step on each compute stream that writes the first bucket (it
      // must be summed after it) and, after the ready events, the tail.
      for (int r = 0; r < ranks; ++r) {
        float* head = p[static_cast<std::size_t>(r)];
        group[r].compute.enqueue([head, r] {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          head[0] = float(r + 1);
        });
      }
      ReadyNow ready(group, ranks);
      for (int r = 0; r < ranks; ++r) {
        values[static_cast<std::size_t>(r)][0] = float(r + 1);
        float* tail = p[static_cast<std::size_t>(r)] + n - 7;
        group[r].compute.enqueue([tail] {
          for (int i = 0; i < 7; ++i) tail[i] = -1.0f;
        });
      }
      for (int i : {0, 1, 2, 3}) c.c.all_reduce(c.plan.buckets()[i], p, ready.pointers());
      c.c.join(ranks);
      group.synchronize();
      const std::string what = concat("N=", ranks, direct ? " direct" : " copy");
      // The same sums, bit for bit, from one whole-buffer all_reduce.
      RankBuffers whole(group, ranks, values);
      whole_buffer.all_reduce(whole.pointers());
      group.synchronize();
      for (int r = 0; r < ranks; ++r) {
        std::vector<float> got = b.host(r), want = whole.host(r);
        for (int i = 0; i < 7; ++i) {
          EXPECT_EQ(got[static_cast<std::size_t>(n - 7 + i)], -1.0f) << what;
          want[static_cast<std::size_t>(n - 7 + i)] = -1.0f;
        }
        EXPECT_TRUE(test::all_identical(got, want, what + concat(" rank ", r)));
      }
      // A bucket's broadcast: rank 0's slice to every rank, the rest untouched.
      RankBuffers params(group, ranks, values);
      c.c.broadcast(c.plan.buckets()[1], params.pointers());
      c.c.finish(c.plan.buckets()[1], ranks);
      group.synchronize();
      for (int r = 0; r < ranks; ++r) {
        std::vector<float> want = values[static_cast<std::size_t>(r)];
        std::copy(values[0].begin() + 100, values[0].begin() + 1000, want.begin() + 100);
        EXPECT_TRUE(test::all_identical(params.host(r), want, what + concat(" broadcast ", r)));
      }
    }
  }
}

// A bucket cut into one part per rank, each on its rank's compute stream:
// every element of [offset, offset + n) is summed (or sent) exactly once, the
// rest is untouched, and a part waits for every rank's ready event (each rank
// writes its first element late, after a sleep).
TEST(Collectives, PartsCoverABucketOnceAndWaitForEveryRank) {
  for (int ranks = 1; ranks <= 8; ++ranks) {
    for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{10007}}) {
      DeviceGroup group(cpus(ranks), 0);
      const int64_t offset = 3, size = n + 5;
      Comm c(group, {offset, n, 2}, parts_route());
      const Bucket bucket =
          c.plan.buckets().size() == 3 ? c.plan.buckets()[1] : Bucket{1, offset, 0};
      const std::string what = concat("N=", ranks, " n=", n);
      int64_t covered = 0;
      for (int q = 0; q < ranks; ++q) {
        const Range part = c.plan.part(bucket, ranks, q);
        EXPECT_EQ(part.begin, covered) << what;
        covered = part.end;
      }
      EXPECT_EQ(covered, n) << what;
      RankBuffers b(group, ranks, rank_plus_one(ranks, size));
      std::vector<float*> p = b.pointers();
      for (int r = 0; r < ranks; ++r) {
        float* first = p[static_cast<std::size_t>(r)] + offset;
        group[r].compute.enqueue([first, n, r] {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          if (n > 0) first[0] = float(2 * (r + 1));
        });
      }
      ReadyNow ready(group, ranks);
      if (n == 0) continue;  // no bucket: a layer without parameters
      if (ranks > 1) {
        ASSERT_EQ(c.plan.route(bucket, ranks), Route::Parts);
      }
      c.c.reduce(bucket, p, ready.pointers());
      c.c.finish(bucket, ranks);
      group.synchronize();
      const float sum = float(ranks * (ranks + 1) / 2);
      std::vector<float> want(static_cast<std::size_t>(size), 1.0f);
      for (int64_t i = offset; i < offset + n; ++i) want[static_cast<std::size_t>(i)] = sum;
      if (n > 0) want[static_cast<std::size_t>(offset)] = 2 * sum;
      EXPECT_TRUE(test::all_identical(b.host(0), want, what + " reduce"));
      c.c.broadcast(bucket, p);
      c.c.finish(bucket, ranks);
      group.synchronize();
      for (int r = 1; r < ranks; ++r) {
        // outside the bucket: the rank's own values; inside: rank 0's sum
        std::vector<float> got = b.host(r);
        for (int64_t i = 0; i < size; ++i) {
          if (i < offset || i >= offset + n) {
            EXPECT_EQ(got[static_cast<std::size_t>(i)], float(r + 1)) << what << " rank " << r;
          }
        }
        EXPECT_TRUE(test::all_identical(
            std::vector<float>(got.begin() + offset, got.begin() + offset + n),
            std::vector<float>(want.begin() + offset, want.begin() + offset + n),
            what + concat(" broadcast to ", r)));
      }
    }
  }
  DeviceGroup group(cpus(2), 0);
  Comm c(group, {4}, parts_route());
  RankBuffers b(group, 2, rank_plus_one(2, 4));
  ReadyNow ready(group, 1);  // one event for two buffers
  EXPECT_THROW(c.c.reduce(c.plan.whole(), b.pointers(), ready.pointers()), Error);
  EXPECT_THROW(c.c.broadcast(Bucket{7, 0, 4}, b.pointers()), Error);  // not the plan's
}

TEST(Collectives, ASubsetOfRanks) {
  DeviceGroup group(cpus(4), 0);
  Comm c(group, {10}, whole_route(ReduceAlgorithm::Tree, 1 << 20));
  RankBuffers b(group, 3, rank_plus_one(3, 10));  // ranks 0..2 only
  c.reduce(b.pointers());
  group.synchronize();
  EXPECT_TRUE(test::all_close(b.host(0), std::vector<float>(10, 6.0f), 0, 0, "3 of 4"));
  std::vector<float*> too_many(5, b.pointers()[0]);
  EXPECT_THROW(c.all_reduce(too_many), Error);
  EXPECT_THROW(BucketPlan(std::vector<int64_t>{10}, group, whole_route(ReduceAlgorithm::Tree, 2)), ParameterError);
  EXPECT_THROW(parse_reduce_algorithm("mesh"), ParameterError);
}

TEST(Collectives, BackToBackCallsReuseScratchSafely) {
  // Many small all_reduces queued without synchronizing in between: the
  // scratch slots' events must keep a later copy from overwriting a slot
  // that an earlier add still reads.
  const int ranks = 4;
  const int64_t n = 999;
  DeviceGroup group(cpus(ranks), 0);
  Comm c(group, {n}, whole_route(ReduceAlgorithm::Tree, 256, false));
  RankBuffers b(group, ranks, rank_plus_one(ranks, n));
  float expected = 0;
  for (int r = 0; r < ranks; ++r) expected += r + 1;
  for (int round = 0; round < 5; ++round) {
    c.all_reduce(b.pointers());
    if (round < 4) expected *= ranks;
  }
  group.synchronize();
  for (int r = 0; r < ranks; ++r)
    EXPECT_TRUE(
        test::all_close(b.host(r), std::vector<float>(n, expected), 0, 0, concat("rank ", r)));
}

// The bytes each rank sends and receives in one traced all_reduce of S bytes
// (each copy's and peer_add's src and dst): a ring moves 2(N-1)/N S per rank,
// in and out, direct or staged; the tree's root receives ceil(log2 N) buffers.
TEST(Collectives, RingMovesTwoNMinusOneOverNOfTheBufferPerRank) {
  for (int ranks = 2; ranks <= 6; ++ranks) {
    for (bool direct : {true, false}) {
      DeviceGroup group(cpus(ranks), 0);
      const int64_t n = 6000;  // divisible by 2..6: every slice the same size
      for (ReduceAlgorithm a : {ReduceAlgorithm::Ring, ReduceAlgorithm::Tree}) {
        Comm c(group, {n}, whole_route(a, 4096, direct));
        std::vector<std::string> names;
        for (int r = 0; r < ranks; ++r) names.push_back(group[r].name());
        Tracer tracer(names);
        c.c.set_tracer(&tracer);
        RankBuffers b(group, ranks, rank_plus_one(ranks, n));
        c.all_reduce(b.pointers());
        group.synchronize();
        tracer.flush();
        std::vector<int64_t> sent(static_cast<std::size_t>(ranks)), received(sent.size());
        for (const TraceRecord& e : tracer.records())
          if (e.args.bytes > 0) {
            sent[static_cast<std::size_t>(e.args.src)] += e.args.bytes;
            received[static_cast<std::size_t>(e.args.dst)] += e.args.bytes;
          }
        const std::string what = concat(label(ranks, n, a, 4096), direct ? " direct" : " staged");
        const int64_t S = n * 4;
        if (a == ReduceAlgorithm::Ring) {
          for (int r = 0; r < ranks; ++r) {
            EXPECT_EQ(sent[r], 2 * (ranks - 1) * S / ranks) << what << " rank " << r;
            EXPECT_EQ(received[r], 2 * (ranks - 1) * S / ranks) << what << " rank " << r;
          }
        } else {
          int levels = 0;
          while ((1 << levels) < ranks) ++levels;
          EXPECT_EQ(received[0], levels * S) << what << " the root";
          if (ranks > 2) {  // at N = 2 both move one buffer each way
            EXPECT_GT(received[0], 2 * (ranks - 1) * S / ranks) << what << " the root moves more";
          }
        }
        const std::vector<float> sum(static_cast<std::size_t>(n), ranks * (ranks + 1) / 2.0f);
        for (int r = 0; r < ranks; ++r)
          EXPECT_TRUE(test::all_close(b.host(r), sum, 0, 0, what + concat(" rank ", r)));
      }
    }
  }
}

}  // namespace
}  // namespace cudp
