// The chunked staging loop (parallel/staged_chunks.h) with CPU memcpy steps,
// the twin of the Net route's GPU staging. The copies are DEFERRED: a begin_*
// only notes the copy and its wait_* does it, as an asynchronous copy lands
// whenever its stream gets there; a loop that reused a slot before its upload
// was waited for would then lose a chunk. Checks every element is downloaded,
// worked on and uploaded once, chunks in order, for sizes 0, 1, chunk-1,
// chunk, chunk+1 and many chunks.
#include <cstring>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/staged_chunks.h"

namespace cudp {
namespace {

struct Staging {
  std::vector<float> device;
  std::vector<std::vector<float>> slots;
  std::vector<std::function<void()>> pending_down, pending_up;  // [slot]
  std::vector<int> downloads, works, uploads;                   // [element]
  std::vector<int64_t> order;                                   // chunk begins as worked on
  int in_flight = 0, most_in_flight = 0;
};

void stage(Staging& run, int64_t count, int64_t chunk) {
  run.device.resize(static_cast<std::size_t>(count));
  for (int64_t i = 0; i < count; ++i) run.device[i] = static_cast<float>(i);
  run.slots.assign(kStagingSlots, std::vector<float>(static_cast<std::size_t>(chunk)));
  run.pending_down.assign(kStagingSlots, nullptr);
  run.pending_up.assign(kStagingSlots, nullptr);
  run.downloads.assign(static_cast<std::size_t>(count), 0);
  run.works = run.uploads = run.downloads;
  StagedSteps steps;
  steps.begin_download = [&](int s, Range c) {
    ASSERT_FALSE(run.pending_down[s]) << "slot " << s << " downloaded twice";
    ASSERT_FALSE(run.pending_up[s]) << "slot " << s << " reused before its upload was waited for";
    for (int64_t i = c.begin; i < c.end; ++i) ++run.downloads[i];
    run.most_in_flight = std::max(run.most_in_flight, ++run.in_flight);
    run.pending_down[s] = [&run, s, c] {
      std::memcpy(run.slots[s].data(), run.device.data() + c.begin, (c.end - c.begin) * 4);
    };
  };
  steps.wait_download = [&](int s) {
    ASSERT_TRUE(run.pending_down[s]);
    run.pending_down[s]();
    run.pending_down[s] = nullptr;
  };
  steps.work = [&](int s, Range c) {
    run.order.push_back(c.begin);
    for (int64_t i = c.begin; i < c.end; ++i) {
      ++run.works[i];
      run.slots[s][i - c.begin] = run.slots[s][i - c.begin] * 2 + 1;
    }
  };
  steps.begin_upload = [&](int s, Range c) {
    for (int64_t i = c.begin; i < c.end; ++i) ++run.uploads[i];
    run.pending_up[s] = [&run, s, c] {
      std::memcpy(run.device.data() + c.begin, run.slots[s].data(), (c.end - c.begin) * 4);
    };
  };
  steps.wait_upload = [&](int s) {
    ASSERT_TRUE(run.pending_up[s]) << "slot " << s << " waited for without an upload";
    run.pending_up[s]();
    run.pending_up[s] = nullptr;
    --run.in_flight;
  };
  run_staged(count, chunk, steps);
}

TEST(StagedChunks, EveryElementOnceInOrder) {
  const int64_t chunk = 8;
  for (int64_t count : {0, 1, 7, 8, 9, 16, 17, 23, 24, 25, 100}) {
    SCOPED_TRACE(testing::Message() << "count " << count << ", chunk " << chunk);
    Staging run;
    stage(run, count, chunk);
    for (int64_t i = 0; i < count; ++i) {
      EXPECT_EQ(run.downloads[i], 1) << "element " << i;
      EXPECT_EQ(run.works[i], 1) << "element " << i;
      EXPECT_EQ(run.uploads[i], 1) << "element " << i;
      EXPECT_EQ(run.device[i], static_cast<float>(i) * 2 + 1) << "element " << i;
    }
    for (int s = 0; s < kStagingSlots; ++s) {
      EXPECT_FALSE(run.pending_down[s]) << "slot " << s << " left downloading";
      EXPECT_FALSE(run.pending_up[s]) << "slot " << s << " left uploading";
    }
    const int64_t chunks = (count + chunk - 1) / chunk;
    ASSERT_EQ(static_cast<int64_t>(run.order.size()), chunks);
    for (int64_t c = 0; c < chunks; ++c) EXPECT_EQ(run.order[c], c * chunk);
    EXPECT_LE(run.most_in_flight, kStagingSlots);
  }
}

TEST(StagedChunks, NoChunkSizeIsOneChunk) {
  StagedSteps steps;
  int works = 0;
  steps.begin_download = [](int, Range) {};
  steps.wait_download = [](int) {};
  steps.work = [&](int s, Range c) {
    EXPECT_EQ(s, 0);
    EXPECT_EQ(c.begin, 0);
    EXPECT_EQ(c.end, 5);
    ++works;
  };
  steps.begin_upload = [](int, Range) {};
  steps.wait_upload = [](int) {};
  run_staged(5, 0, steps);
  EXPECT_EQ(works, 1);
}

}  // namespace
}  // namespace cudp
