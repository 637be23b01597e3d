// --cuda-graph on (parallel/step_graph.h) against eager, on one GPU: the same
// bits for every loss and the final parameters over several steps with a
// learning-rate milestone and a last partial batch, on 1 and 2 logical devices
// of GPU 0, dp and ddp; a NaN through a replayed graph stops with "diverged" and
// leaves the parameters untouched. Label gpu; skips with the reason without one.
// Written without a GPU: unverified on silicon until a GPU report shows it.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/parallel_trainer.h"
#include "runtime/copy.h"
#include "runtime/cuda_info.h"
#include "tests/common/expect_error.h"
#include "tests/common/tolerance.h"
#include "tests/parallel/fixtures.h"

namespace cudp {
namespace {

#define REQUIRE_GPU()                                                                  \
  do {                                                                                 \
    if (cuda_device_count() < 1)                                                       \
      GTEST_SKIP() << "needs a GPU, found none: " << cuda_unavailable_reason();        \
  } while (0)

std::vector<float> params_of(Sequential& net) {
  std::vector<float> v(static_cast<std::size_t>(net.param_count()));
  const Context ctx{net.device()};
  download(ctx, v.data(), net.params(), net.device(), v.size() * 4);
  return v;
}

struct Trained {
  std::vector<float> losses, params;
  int64_t launches = 0;
};

// Steps 0-4 at batch 9 (eager warm-up, capture, replays), a milestone before
// step 3, then a last partial batch of 5 (eager) and one more replay at 9.
Trained train(ParallelMode m, int devices, bool graph) {
  auto batches = test::make_batches(7, 9, 61);
  batches[5].x.resize(5 * 3 * 8 * 8);
  batches[5].y.resize(5);
  DeviceGroup group(std::vector<Device>(static_cast<std::size_t>(devices), cuda_device(0)), 3);
  ParallelOptions options = test::mode(m);
  options.cuda_graph = graph;
  auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
  Trained run;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (i == 3) trainer->set_lr(test::test_sgd().lr * 0.1f);
    const test::Batch& b = batches[i];
    run.losses.push_back(trainer->step(b.x.data(), b.y.data(), b.size()).loss);
  }
  run.params = params_of(trainer->net());
  run.launches = trainer->graph_launches();
  return run;
}

TEST(CudaGraph, ReplaysGiveTheEagerBits) {
  REQUIRE_GPU();
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    for (int devices : {1, 2}) {
      SCOPED_TRACE(concat(parallel_mode_name(m), " on ", devices, " logical device(s)"));
      const Trained eager = train(m, devices, false), graph = train(m, devices, true);
      EXPECT_TRUE(test::all_identical(graph.losses, eager.losses, "losses"));
      EXPECT_TRUE(test::all_identical(graph.params, eager.params, "final parameters"));
      // Steps 1-4 at least ran as the graph (step 6 too, unless the partial batch of
      // step 5 grew the kernels' scratch and so dropped it): not eager under another name.
      EXPECT_GE(graph.launches, 4);
      EXPECT_EQ(eager.launches, 0);
    }
  }
}

// A label out of range in a replayed step: the host's error, the parameters untouched
// (the SGD kernels skipped on the device's flag before the host could look).
TEST(CudaGraph, ABadLabelThroughAReplayLeavesTheParameters) {
  REQUIRE_GPU();
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    SCOPED_TRACE(parallel_mode_name(m));
    auto batches = test::make_batches(4, 9, 71);
    batches[3].y[6] = 12;
    DeviceGroup group(std::vector<Device>(2, cuda_device(0)), 3);
    ParallelOptions options = test::mode(m);
    options.cuda_graph = true;
    auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
    for (int i = 0; i < 3; ++i) trainer->step(batches[i].x.data(), batches[i].y.data(), 9);
    const std::vector<float> before = params_of(trainer->net());
    ASSERT_EQ(trainer->graph_launches(), 2);  // steps 1 (captured) and 2: step 3 replays
    EXPECT_ERROR(trainer->step(batches[3].x.data(), batches[3].y.data(), 9), "target 12");
    EXPECT_EQ(trainer->graph_launches(), 3);
    EXPECT_TRUE(test::all_identical(params_of(trainer->net()), before, "untouched"));
  }
}

TEST(CudaGraph, ANanThroughAReplayStopsAsDivergedAndLeavesTheParameters) {
  REQUIRE_GPU();
  for (ParallelMode m : {ParallelMode::DataParallel, ParallelMode::Distributed}) {
    SCOPED_TRACE(parallel_mode_name(m));
    auto batches = test::make_batches(4, 9, 67);
    batches[3].x[11] = NAN;  // steps 0 eager, 1 captured, 2 replayed, 3 replayed with a NaN
    DeviceGroup group(std::vector<Device>(2, cuda_device(0)), 3);
    ParallelOptions options = test::mode(m);
    options.cuda_graph = true;
    auto trainer = make_parallel_trainer(group, test::small_factory(), test::test_sgd(), options);
    for (int i = 0; i < 3; ++i) trainer->step(batches[i].x.data(), batches[i].y.data(), 9);
    const std::vector<float> before = params_of(trainer->net());
    ASSERT_EQ(trainer->graph_launches(), 2);
    EXPECT_ERROR(trainer->step(batches[3].x.data(), batches[3].y.data(), 9),
                 "training diverged: the loss is ", "nan at step 4");
    EXPECT_EQ(trainer->graph_launches(), 3);  // the NaN went through a replay
    EXPECT_TRUE(test::all_identical(params_of(trainer->net()), before, "untouched"));
    if (m == ParallelMode::Distributed) {
      EXPECT_TRUE(test::all_identical(params_of(trainer->replica_net(1)), before, "replica 1"));
    }
  }
}

}  // namespace
}  // namespace cudp
