// Interval arithmetic (parallel/intervals.h) on exact small numbers: unions
// merge what overlaps or touches, differences cut holes, lengths count an
// overlap once; and the span names the comm clock sorts (comm_clock.h).
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "parallel/comm_clock.h"
#include "parallel/intervals.h"

namespace cudp {
namespace {

std::string str(const std::vector<Interval>& a) {
  std::string s;
  for (const Interval& i : a)
    s += "[" + std::to_string(int(i.begin)) + "," + std::to_string(int(i.end)) + ")";
  return s;
}

TEST(Intervals, UnionSortsMergesAndDropsEmpty) {
  EXPECT_EQ(str(union_of({{5, 7}, {1, 3}, {2, 4}, {4, 4.0}, {9, 8}, {7, 8}})), "[1,4)[5,8)");
  EXPECT_EQ(str(union_of({})), "");
  EXPECT_EQ(str(union_of({{0, 10}, {2, 3}})), "[0,10)");
}

TEST(Intervals, MinusCutsHolesAndEnds) {
  // movement [0,10) and [20,30); compute [2,4), [8,22), [25,26)
  const std::vector<Interval> moved{{0, 10}, {20, 30}}, compute{{2, 4}, {8, 22}, {25, 26}};
  EXPECT_EQ(str(minus(moved, compute)), "[0,2)[4,8)[22,25)[26,30)");
  EXPECT_DOUBLE_EQ(covered_us(minus(moved, compute)), 2 + 4 + 3 + 4);
  EXPECT_EQ(str(minus(moved, {})), "[0,10)[20,30)");
  EXPECT_EQ(str(minus(moved, {{-5, 40}})), "");
  EXPECT_EQ(str(minus({}, compute)), "");
  // cut intervals that overlap one another, given out of order
  EXPECT_EQ(str(minus({{0, 10}}, {{6, 9}, {1, 3}, {2, 5}})), "[0,1)[5,6)[9,10)");
}

TEST(Intervals, CoveredCountsAnOverlapOnce) {
  // two copies at once on two streams: 6 us of wall time, not 8
  EXPECT_DOUBLE_EQ(covered_us({{0, 4}, {2, 6}}), 6);
  EXPECT_DOUBLE_EQ(covered_us({{0, 1}, {3, 4}}), 2);
}

TEST(CommClock, SortsSpansIntoMovementComputeAndNeither) {
  const TraceArgs between = slice_args(0, 0, 8, 1, 0, "reduce");
  for (const char* moves : {"copy", "peer_add", "add"})
    EXPECT_EQ(activity_of(moves, between), Activity::Movement) << moves;
  // The host's batch (src -1) and a device's copy of its own shard move nothing between devices.
  TraceArgs from_host, own;
  from_host.src = -1, from_host.dst = 0;
  own.src = own.dst = 0;
  EXPECT_EQ(activity_of("copy", from_host), Activity::None);
  EXPECT_EQ(activity_of("copy", own), Activity::None);
  EXPECT_EQ(activity_of("copy", TraceArgs{}), Activity::None);
  for (const char* computes : {"forward/conv1", "backward/fc2", "loss", "sgd"})
    EXPECT_EQ(activity_of(computes, {}), Activity::Compute) << computes;
  for (const char* neither : {"join", "scatter", "gather", "scatter_grad", "net_wait", "step",
                              "broadcast", "enqueue", "wait/loss", "sync", "forward"})
    EXPECT_EQ(activity_of(neither, between), Activity::None) << neither;
}

}  // namespace
}  // namespace cudp

namespace cudp {
namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// The clock on real streams of device 0: movement on its copy stream while
// its compute stream computes is hidden; movement after it is exposed; a
// wait is neither, and other devices' spans do not count.
TEST(CommClock, MovementBesideComputeIsHiddenAndAloneIsExposed) {
  CommClock clock;
  Stream compute(cpu_device(0)), copy(cpu_device(0)), other(cpu_device(1));
  copy.wait_for(compute);
  traced(nullptr, &clock, compute, 0, Lane::Compute, "forward/conv1", {},
         [&] { compute.enqueue([] { sleep_ms(60); }); });
  traced(nullptr, &clock, copy, 0, Lane::Copy, "copy", slice_args(0, 0, 8, 1, 0, "broadcast"),
         [&] { copy.enqueue([] { sleep_ms(20); }); });  // runs beside the forward
  traced(nullptr, &clock, other, 1, Lane::Copy, "copy", slice_args(0, 0, 8, 1, 0, "broadcast"),
         [&] { other.enqueue([] { sleep_ms(30); }); });  // device 1's: not counted
  compute.wait_for(copy);
  traced(nullptr, &clock, compute, 0, Lane::Compute, "join", {}, [&] { compute.wait_for(other); });
  traced(nullptr, &clock, compute, 0, Lane::Compute, "peer_add", slice_args(0, 0, 8, 1, 0, "reduce"),
         [&] { compute.enqueue([] { sleep_ms(20); }); });  // after all compute: exposed
  compute.synchronize();
  copy.synchronize();
  other.synchronize();
  const CommClock::Step step = clock.take();
  EXPECT_GE(step.comm.moved_ms, 39.0);
  EXPECT_LT(step.comm.moved_ms, 100.0);
  EXPECT_GE(step.comm.exposed_ms, 19.0);
  EXPECT_LE(step.comm.exposed_ms, step.comm.moved_ms - 15.0) << "the copy beside the forward";
  EXPECT_EQ(step.net.busy_ms, 0);
  const CommClock::Step again = clock.take();  // take() resets
  EXPECT_EQ(again.comm.moved_ms, 0);
}

TEST(CommClock, NetCollectivesUseTheSameDefinition) {
  CommClock clock;
  Stream compute(cpu_device(0));
  TimeMark begin = compute.mark();
  compute.enqueue([] { sleep_ms(30); });
  TimeMark end = compute.mark();
  clock.add(Activity::Compute, begin, end);
  compute.synchronize();
  const double b = begin.microseconds();
  ASSERT_GE(end.microseconds() - b, 29000.0);
  clock.add_net(b - 20000, b - 10000);  // 10 ms before the compute: exposed
  clock.add_net(b + 5000, b + 15000);   // 10 ms inside it: hidden
  const CommClock::Step step = clock.take();
  EXPECT_NEAR(step.net.busy_ms, 20.0, 1e-6);
  EXPECT_NEAR(step.net.exposed_ms, 10.0, 1e-6);
  EXPECT_NEAR(step.comm.moved_ms, step.net.busy_ms, 1e-6)
      << "the net is the first device's movement";
  EXPECT_NEAR(step.comm.exposed_ms, step.net.exposed_ms, 1e-6);
}

}  // namespace
}  // namespace cudp
