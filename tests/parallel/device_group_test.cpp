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

}  // namespace
}  // namespace cudp
