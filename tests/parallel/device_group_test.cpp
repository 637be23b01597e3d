// DeviceGroup (parallel/device_group.h): ranks, seeds, the compute and copy
// streams of each rank, and a synchronize that rethrows a worker's error once.
#include <gtest/gtest.h>

#include "parallel/device_group.h"
#include "runtime/error.h"

namespace cudp {
namespace {

TEST(DeviceGroup, RanksSeedsAndStreams) {
  DeviceGroup group({cpu_device(0), cpu_device(1), cpu_device(2)}, 100);
  ASSERT_EQ(group.size(), 3);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(group[r].rank, r);
    EXPECT_EQ(group[r].seed, 100u + r);
    EXPECT_EQ(group[r].device, cpu_device(r));
  }
  EXPECT_EQ(group[1].name(), "rank 1 (cpu:1)");
  group[2].copy.enqueue([] { fail("copy failed"); });
  EXPECT_THROW(group.synchronize(), Error);
  EXPECT_NO_THROW(group.synchronize());
  EXPECT_THROW(DeviceGroup({}, 0), Error);
}

// Mixed device kinds across processes are refused alike on every rank: a GPU
// rank's chunked staging would not match a CPU rank's whole-bucket messages.
TEST(DeviceGroup, EveryProcessHoldsTheSameKindOfDevice) {
  EXPECT_NO_THROW(check_same_device_kind({"cpu", "cpu", "cpu"}));
  EXPECT_NO_THROW(check_same_device_kind({"cuda"}));
  try {
    check_same_device_kind({"cuda", "cuda", "cpu"});
    FAIL() << "mixed kinds accepted";
  } catch (const ParameterError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 has cuda devices, rank 2 has cpu"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cudp
