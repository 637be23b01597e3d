// The bucket plan's three bucketings, and --textbook: PyTorch's schedule, the
// default's bits.
//
// reducer_buckets() is checked on sizes worked by hand (PyTorch's own function
// checks it on seed-pool in the torch tests: tests/tools/bucket_assignment_test.py);
// the plan's buckets, which layers wait for them and after which layer's backward
// they are ready, for a bucket that splits a layer's weight from its bias; then
// textbook dp and ddp against the default with the same --reduce, bitwise.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/bucket_plan.h"
#include "runtime/error.h"
#include "tests/common/tolerance.h"
#include "tests/parallel/fixtures.h"

namespace cudp {
namespace {

using test::cpus;
using test::make_batches;
using test::mode;
using test::Trained;

using Ids = std::vector<int>;

TEST(BucketPlan, ReducerBucketsFillLastFirstAndCloseAtTheirLimit) {
  // 4 bytes a float: tensors of 100, 8, 300, 2 and 50 floats = 400, 32, 1200, 8, 200 bytes.
  const std::vector<int64_t> floats{100, 8, 300, 2, 50};
  // First limit 256: {4} holds 200 < 256, {4,3} 208, {4,3,2} 1408 closes; cap 400:
  // {1} 32, {1,0} 432 closes.
  EXPECT_EQ(reducer_buckets(floats, 256, 400), (std::vector<Ids>{{4, 3, 2}, {1, 0}}));
  // A limit met exactly closes the bucket (>=, as PyTorch): 200 = 200.
  EXPECT_EQ(reducer_buckets(floats, 200, 400), (std::vector<Ids>{{4}, {3, 2}, {1, 0}}));
  // A cap above everything: the first bucket, then the rest together.
  EXPECT_EQ(reducer_buckets(floats, 1, 1 << 30), (std::vector<Ids>{{4}, {3, 2, 1, 0}}));
  // Tiny limits: every tensor its own bucket, last first.
  EXPECT_EQ(reducer_buckets(floats, 1, 1), (std::vector<Ids>{{4}, {3}, {2}, {1}, {0}}));
  EXPECT_TRUE(reducer_buckets({}, 1, 1).empty());
}

PlanOptions reducer(std::size_t first, std::size_t cap) {
  PlanOptions o = textbook_options({}, true);
  o.first_bucket_bytes = first;
  o.bucket_cap_bytes = cap;
  return o;
}

TEST(BucketPlan, BucketsMapToTheLayersThatUseThemAndTheLayerThatCompletesThem) {
  DeviceGroup group(cpus(2), 0);
  // Layers: a(weight 100, bias 8), none, b(weight 300, bias 2), c(weight 50).
  const std::vector<std::vector<int64_t>> tensors{{100, 8}, {}, {300, 2}, {50}};
  const BucketPlan layers(tensors, group, {});
  ASSERT_EQ(layers.buckets().size(), 3u);
  EXPECT_EQ(layers.buckets()[1].offset, 108);
  EXPECT_EQ(layers.buckets()[1].count, 302);
  EXPECT_EQ(layers.buckets_of_layer(0), Ids{0});
  EXPECT_TRUE(layers.buckets_of_layer(1).empty());
  EXPECT_EQ(layers.ready_after_layer(3), Ids{2});

  PlanOptions whole_options;
  whole_options.bucketing = Bucketing::Whole;
  const BucketPlan whole(tensors, group, whole_options);
  ASSERT_EQ(whole.buckets().size(), 1u);
  EXPECT_EQ(whole.buckets()[0].count, 460);
  EXPECT_EQ(whole.buckets_of_layer(3), Ids{0});
  EXPECT_EQ(whole.ready_after_layer(0), Ids{0});  // only once the whole backward ran
  EXPECT_TRUE(whole.ready_after_layer(3).empty());

  // Reducer, first 256 bytes, cap 400 (the sizes of the test above): filled
  // {c.w, b.b, b.w} then {a.b, a.w}; in forward order [a.w a.b] [b.w b.b c.w].
  const BucketPlan split(tensors, group, reducer(256, 400));
  ASSERT_EQ(split.buckets().size(), 2u);
  EXPECT_EQ(split.buckets()[0].offset, 0);
  EXPECT_EQ(split.buckets()[0].count, 108);
  EXPECT_EQ(split.buckets()[1].offset, 108);
  EXPECT_EQ(split.buckets()[1].count, 352);
  EXPECT_EQ(split.ready_after_layer(2), Ids{1});  // b's backward writes its first tensor
  EXPECT_TRUE(split.ready_after_layer(3).empty());

  // First limit 200: {c.w} alone, then {b.b, b.w}, then {a.b, a.w}: layer b's
  // tensors in one bucket, c's in another, each ready after its own layer.
  const BucketPlan three(tensors, group, reducer(200, 400));
  ASSERT_EQ(three.buckets().size(), 3u);
  EXPECT_EQ(three.ready_after_layer(3), Ids{2});
  EXPECT_EQ(three.ready_after_layer(2), Ids{1});

  // A layer whose weight and bias land in different buckets (cap 1 byte): it
  // waits for both in forward, and completes both in backward.
  const BucketPlan apart(tensors, group, reducer(1, 1));
  ASSERT_EQ(apart.buckets().size(), 5u);
  EXPECT_EQ(apart.buckets_of_layer(0), (Ids{0, 1}));
  EXPECT_EQ(apart.ready_after_layer(0), (Ids{0, 1}));
  EXPECT_EQ(apart.buckets_of_layer(2), (Ids{2, 3}));
}

TEST(BucketPlan, TextbookRunsWholeEdgesAndOneSgdOnTheOwnersComputeStream) {
  DeviceGroup group(cpus(4), 0);
  const std::vector<std::vector<int64_t>> tensors{{int64_t{1} << 20}};  // far above the split
  const BucketPlan fast(tensors, group, {});
  const Bucket& big = fast.buckets()[0];
  EXPECT_EQ(fast.route(big, 4), Route::Parts);
  EXPECT_GT(fast.sgd_pieces(big, 4, 0).size(), 1u);
  for (const bool ddp : {false, true}) {
    const PlanOptions options = textbook_options({}, ddp);
    EXPECT_EQ(options.direct_reads, ddp) << "dp's textbook reduce copies, then adds";
    const BucketPlan textbook(tensors, group, options);
    const Bucket& b = textbook.buckets()[0];
    EXPECT_EQ(textbook.route(b, 4), Route::Whole);
    const std::vector<SgdPiece> pieces = textbook.sgd_pieces(b, 4, 0);
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].runner, 0);
    EXPECT_EQ(pieces[0].lane, Lane::Compute);
    EXPECT_EQ(pieces[0].count, b.count);
  }
}

// The sums are the same, only their schedule differs: textbook dp and ddp give
// the default's bits with the same --reduce, on 2, 3 and 4 devices, uneven
// shards included, and with reducer caps that split a layer across buckets.
TEST(BucketPlan, TextbookGivesTheDefaultsBits) {
  const auto batches = make_batches(5, 10, 61);  // 4 ranks: 3, 3, 3, 1
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    // The ring too: its slices are the whole buffer's, whatever the buckets.
    for (ReduceAlgorithm algorithm :
         {ReduceAlgorithm::Tree, ReduceAlgorithm::Star, ReduceAlgorithm::Ring}) {
      for (int ranks : {2, 3, 4}) {
        const std::string what =
            concat(parallel_mode_name(m), " ", reduce_algorithm_name(algorithm), " N=", ranks);
        const Trained fast = test::train_parallel(batches, ranks, mode(m, algorithm));
        std::vector<std::size_t> caps{std::size_t{25} << 20};
        if (m == ParallelMode::Distributed) caps = {std::size_t{25} << 20, 4096, 1};
        for (const std::size_t cap : caps) {
          ParallelOptions textbook = mode(m, algorithm);
          textbook.plan.textbook = true;
          textbook.plan.bucket_cap_bytes = cap;
          textbook.plan.first_bucket_bytes = cap < 4096 ? 1 : std::size_t{1} << 20;
          const Trained slow = test::train_parallel(batches, ranks, textbook);
          const std::string where = concat(what, " cap ", cap);
          EXPECT_TRUE(test::all_identical(fast.params, slow.params, where));
          EXPECT_TRUE(test::all_identical(fast.losses, slow.losses, where + " losses"));
        }
      }
    }
  }
}

}  // namespace
}  // namespace cudp
