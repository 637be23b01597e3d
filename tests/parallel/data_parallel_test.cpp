// DataParallel and DDP against the one-device Trainer on the same batches.
//
// N = 1, 2, 3, 4 devices, even and uneven shards (9 over 4 is 3,3,3 and an idle
// device), batches smaller than N; every parameter within 1e-4 relative (plus
// 1e-6 absolute for parameters near zero) after 5 steps of lr 0.05, momentum
// 0.9, which moves the parameters far more than that (checked first, so the
// tolerance can fail). Reruns, chunk sizes and the output device change no bit.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "data/dataset.h"
#include "parallel/ddp.h"
#include "runtime/error.h"
#include "tests/common/expect_error.h"
#include "tests/common/tolerance.h"
#include "tests/parallel/fixtures.h"

namespace cudp {
namespace {

using test::Batch;
using test::make_batches;
using test::mode;
using test::Trained;

constexpr double kRtol = 1e-4, kAtol = 1e-6;
constexpr int kSteps = 5;

TEST(DataParallel, TheToleranceTellsFourStepsFromFive) {
  const auto batches = make_batches(kSteps, 8, 11);
  const Trained five = test::train_one_device(batches);
  const Trained four =
      test::train_one_device(std::vector<Batch>(batches.begin(), batches.end() - 1));
  EXPECT_FALSE(test::all_close(four.params, five.params, kAtol, kRtol));
}

struct Case {
  int devices;
  int64_t batch;
};

void expect_matches_one_device(ParallelMode m, const Case& c) {
  const auto batches = make_batches(kSteps, c.batch, 100 + c.batch);
  const Trained ref = test::train_one_device(batches);
  std::vector<std::vector<float>> replicas;
  const Trained got = test::train_parallel(batches, c.devices, mode(m), 3, &replicas);
  const std::string what = concat(parallel_mode_name(m), " N=", c.devices, " B=", c.batch);
  EXPECT_TRUE(test::all_close(got.params, ref.params, kAtol, kRtol, what + " params"));
  EXPECT_TRUE(test::all_close(got.losses, ref.losses, 1e-6, 1e-5, what + " losses"));
  EXPECT_EQ(got.correct, ref.correct) << what;
  if (m == ParallelMode::Distributed) {
    for (int r = 1; r < c.devices; ++r)
      EXPECT_TRUE(test::all_identical(replicas[r], replicas[0], what + concat(" rank ", r)));
  }
}

const Case kCases[] = {{1, 8}, {2, 8}, {3, 8}, {4, 8}, {4, 9}, {3, 7}, {3, 2}, {4, 3}};

TEST(DataParallel, MatchesOneDeviceForEveryShape) {
  for (const Case& c : kCases) expect_matches_one_device(ParallelMode::DataParallel, c);
}

TEST(Ddp, MatchesOneDeviceForEveryShape) {
  for (const Case& c : kCases) expect_matches_one_device(ParallelMode::Distributed, c);
}

TEST(DataParallel, OneDeviceIsBitwiseTheTrainer) {
  const auto batches = make_batches(kSteps, 8, 5);
  const Trained ref = test::train_one_device(batches);
  const Trained got = test::train_parallel(batches, 1, mode(ParallelMode::DataParallel));
  EXPECT_TRUE(test::all_identical(got.params, ref.params, "params"));
  EXPECT_TRUE(test::all_identical(got.losses, ref.losses, "losses"));
}

TEST(DataParallel, RerunsChunkSizesEdgesAndOutputDeviceChangeNoBit) {
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    const auto batches = make_batches(kSteps, 9, 21);
    const Trained a = test::train_parallel(batches, 4, mode(m));
    const Trained b = test::train_parallel(batches, 4, mode(m));
    EXPECT_TRUE(test::all_identical(a.params, b.params, "rerun"));
    EXPECT_TRUE(test::all_identical(a.losses, b.losses, "rerun losses"));
    ParallelOptions small_chunks = mode(m);
    small_chunks.plan.chunk_bytes = 4096;
    const Trained c = test::train_parallel(batches, 4, small_chunks);
    EXPECT_TRUE(test::all_identical(a.params, c.params, "4 KiB chunks"));
    small_chunks.plan.direct_reads = false;  // --edge copy: copies through scratch
    const Trained e = test::train_parallel(batches, 4, small_chunks);
    EXPECT_TRUE(test::all_identical(a.params, e.params, "copy edges"));
    EXPECT_TRUE(test::all_identical(a.losses, e.losses, "copy edges' losses"));
    if (m == ParallelMode::DataParallel) {
      ParallelOptions elsewhere = mode(m);
      elsewhere.output_rank = 3;  // the idle device gathers and computes the loss
      const Trained d = test::train_parallel(batches, 4, elsewhere);
      EXPECT_TRUE(test::all_identical(a.params, d.params, "output device 3"));
    }
  }
}

// Big buckets are cut into parts, one per rank, on the compute streams (CPU
// devices share memory): dp's broadcast, the reduce (or all-reduce) and SGD.
// With a low threshold every bucket of the test net is, with a high one none
// is; 4 ranks give the tree a level whose edge does not touch rank 0.
TEST(DataParallel, CuttingBucketsIntoPartsChangesNoBit) {
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    for (ReduceAlgorithm algorithm : {ReduceAlgorithm::Tree, ReduceAlgorithm::Star}) {
      const auto batches = make_batches(kSteps, 10, 41);  // 4 ranks: 3, 3, 3, 1
      ParallelOptions whole = mode(m, algorithm), split = mode(m, algorithm);
      whole.plan.split_bucket_floats = int64_t{1} << 40;
      split.plan.split_bucket_floats = 1;
      for (int ranks : {3, 4}) {
        const std::string what =
            concat(parallel_mode_name(m), " ", reduce_algorithm_name(algorithm), " N=", ranks);
        const Trained a = test::train_parallel(batches, ranks, whole);
        const Trained b = test::train_parallel(batches, ranks, split);
        EXPECT_TRUE(test::all_identical(a.params, b.params, what + " parts"));
        EXPECT_TRUE(test::all_identical(a.losses, b.losses, what + " parts' losses"));
      }
    }
  }
}

TEST(DataParallel, TreeStarAndRingAgreeWithinTolerance) {
  const auto batches = make_batches(kSteps, 10, 31);
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    for (int ranks : {3, 4}) {
      const std::string what = concat(parallel_mode_name(m), " N=", ranks);
      const Trained tree = test::train_parallel(batches, ranks, mode(m, ReduceAlgorithm::Tree));
      const Trained star = test::train_parallel(batches, ranks, mode(m, ReduceAlgorithm::Star));
      const Trained ring = test::train_parallel(batches, ranks, mode(m, ReduceAlgorithm::Ring));
      EXPECT_TRUE(test::all_close(star.params, tree.params, kAtol, kRtol, what + " star vs tree"));
      EXPECT_TRUE(test::all_close(ring.params, tree.params, kAtol, kRtol, what + " ring vs tree"));
      // Each ring is its own reproducible order.
      const Trained again = test::train_parallel(batches, ranks, mode(m, ReduceAlgorithm::Ring));
      EXPECT_TRUE(test::all_identical(again.params, ring.params, what + " ring twice"));
    }
  }
}

TEST(DataParallel, EvaluationMatchesTheTrainer) {
  const DataSplit data = make_synthetic(test::kInput, 16, 21, 4);
  auto net = test::small_factory()(cpu_device(0), 3);
  OneDeviceTrainer trainer(*net, Context{cpu_device(0)}, test::test_sgd());
  const EvalStats ref = trainer.evaluate(data.test, 8);
  for (int devices : {1, 3}) {
    DeviceGroup group(test::cpus(devices), 3);
    auto parallel = make_parallel_trainer(group, test::small_factory(), test::test_sgd(),
                                          mode(ParallelMode::DataParallel));
    const EvalStats got = parallel->evaluate(data.test, 8);
    EXPECT_EQ(got.samples, ref.samples);
    EXPECT_EQ(got.correct, ref.correct);
    if (devices == 1)
      EXPECT_EQ(got.loss, ref.loss);
    else
      EXPECT_NEAR(got.loss, ref.loss, 1e-5 * ref.loss);
  }
}

// An evaluation leaves the group idle, even of an empty set, whose replicate
// has no batch to wait for: the next step's parts would otherwise write the
// replicas' parameters while that broadcast still does (ThreadSanitizer, in CI).
TEST(DataParallel, AStepAfterAnEmptyEvaluationChangesNoBit) {
  const auto batches = make_batches(2, 10, 43);
  ParallelOptions split = mode(ParallelMode::DataParallel);
  split.plan.split_bucket_floats = 1;
  const Trained want = test::train_parallel(batches, 4, split);
  const DataSplit data = make_synthetic(test::kInput, 4, 0, 5);
  DeviceGroup group(test::cpus(4), 3);
  auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), split);
  const EvalStats none = trainer->evaluate(data.test, 8);
  EXPECT_EQ(none.samples, 0);
  for (const Batch& b : batches) trainer->step(b.x.data(), b.y.data(), b.size());
  EXPECT_TRUE(test::all_identical(test::host_params(trainer->net()), want.params, "after"));
}

TEST(Ddp, CheckReplicasNamesTheFirstDifferingRankAndElement) {
  const auto batches = make_batches(2, 6, 41);
  DeviceGroup group(test::cpus(3), 3);
  ParallelOptions options = mode(ParallelMode::Distributed);
  options.check_replicas = true;
  auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
  ASSERT_NO_THROW(trainer->step(batches[0].x.data(), batches[0].y.data(), 6));
  Sequential& rank2 = trainer->replica_net(2);
  const NamedParam& fc1 = rank2.named_params()[4];
  ASSERT_EQ(fc1.name, "fc1.weight");
  rank2.params()[fc1.offset + 17] += 1.0f;  // the host may write: the group is idle
  try {
    trainer->step(batches[1].x.data(), batches[1].y.data(), 6);
    FAIL() << "a corrupted replica was not detected";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rank 2 (cpu:2)"), std::string::npos) << message;
    EXPECT_NE(message.find(concat("element ", fc1.offset + 17, " (fc1.weight[17])")),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("after step 2"), std::string::npos) << message;
  }
}

TEST(DataParallel, ABadLabelIsAnErrorAndTheNextStepStillWorks) {
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    auto batches = make_batches(2, 5, 51);
    batches[0].y[3] = 12;
    DeviceGroup group(test::cpus(2), 3);
    auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), mode(m));
    const std::vector<float> before = test::host_params(trainer->net());
    try {
      trainer->step(batches[0].x.data(), batches[0].y.data(), 5);
      FAIL() << "a label of 12 with 10 classes was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("target 12"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(test::all_identical(test::host_params(trainer->net()), before, "untouched"));
    // The device saw it too: the flag a CUDA graph's SGD skips on (kernels/finite.h).
    EXPECT_TRUE(trainer->optimizer().skipped(group[0].context()));
    EXPECT_NO_THROW(trainer->step(batches[1].x.data(), batches[1].y.data(), 5));
    EXPECT_FALSE(trainer->optimizer().skipped(group[0].context()));
  }
}

// A NaN loss stops the run with the same "diverged" error as ever, the
// parameters untouched; the device's own check (kernels/finite.h) flagged it
// too, the flag the SGD kernels read (and a CUDA graph relies on). dp with the
// loss on another device than the SGD, and ddp, where every target of the batch
// ignored makes the weight 1/0 and the loss NaN.
TEST(DataParallel, ANonFiniteLossStopsAsDivergedAndTheDeviceFlagsItToo) {
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    for (const bool ignored : {false, true}) {
      if (ignored && m == ParallelMode::DataParallel) continue;
      SCOPED_TRACE(concat(parallel_mode_name(m), ignored ? " all ignored" : " NaN input"));
      auto batches = make_batches(2, 5, 53);
      if (ignored)
        for (int32_t& y : batches[1].y) y = -100;
      else
        batches[1].x[7] = NAN;
      DeviceGroup group(test::cpus(2), 3);
      ParallelOptions options = mode(m);
      if (m == ParallelMode::DataParallel) options.output_rank = 1;
      auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
      trainer->step(batches[0].x.data(), batches[0].y.data(), 5);
      EXPECT_FALSE(trainer->optimizer().skipped(group[0].context()));
      const std::vector<float> before = test::host_params(trainer->net());
      EXPECT_ERROR(trainer->step(batches[1].x.data(), batches[1].y.data(), 5),
                   "training diverged: the loss is ",  // nan, or -nan for 0/0
                   "nan at step 2 (try a smaller learning rate)");
      EXPECT_TRUE(test::all_identical(test::host_params(trainer->net()), before, "untouched"));
      EXPECT_TRUE(trainer->optimizer().skipped(group[0].context()));
    }
  }
}

// A CUDA graph captures CUDA streams: CPU devices are refused, naming the parameter.
TEST(DataParallel, ACudaGraphNeedsEveryDeviceOnAGpu) {
  DeviceGroup group(test::cpus(2), 0);
  ParallelOptions options;
  options.cuda_graph = true;
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    options.mode = m;
    EXPECT_PARAMETER_ERROR(
        make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options),
        "cuda_graph", "expected every device on a GPU, found rank 0 (cpu:0)");
  }
}

TEST(DataParallel, OptionsAreChecked) {
  DeviceGroup group(test::cpus(2), 0);
  ParallelOptions options;
  options.check_replicas = true;
  EXPECT_THROW(make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options),
               Error);
  options = {};
  options.output_rank = 2;
  EXPECT_THROW(make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options),
               Error);
  EXPECT_THROW(parse_parallel_mode("fsdp"), Error);
}

TEST(Shards, FollowTorchChunk) {
  auto sizes = [](int64_t batch, int devices) {
    std::string s;
    for (const Shard& sh : chunk_batch(batch, devices)) s += concat(sh.offset, "+", sh.size, " ");
    return s;
  };
  EXPECT_EQ(sizes(9, 4), "0+3 3+3 6+3 ");  // one device idle
  EXPECT_EQ(sizes(32, 4), "0+8 8+8 16+8 24+8 ");
  EXPECT_EQ(sizes(10, 4), "0+3 3+3 6+3 9+1 ");
  EXPECT_EQ(sizes(2, 4), "0+1 1+1 ");
  EXPECT_EQ(sizes(5, 1), "0+5 ");
  EXPECT_EQ(sizes(0, 3), "");
}

}  // namespace
}  // namespace cudp
