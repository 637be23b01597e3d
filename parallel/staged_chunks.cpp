// The chunked staging loop (see staged_chunks.h).
#include "parallel/staged_chunks.h"

#include <algorithm>

namespace cudp {

void run_staged(int64_t count, int64_t chunk, const StagedSteps& steps) {
  if (count <= 0) return;
  if (chunk <= 0 || chunk > count) chunk = count;
  const int64_t chunks = (count + chunk - 1) / chunk;
  auto range = [&](int64_t i) { return Range{i * chunk, std::min(count, (i + 1) * chunk)}; };
  auto slot = [](int64_t i) { return static_cast<int>(i % kStagingSlots); };
  steps.begin_download(slot(0), range(0));
  for (int64_t i = 0; i < chunks; ++i) {
    if (i + 1 < chunks) {
      // Slot of chunk i+1 last held chunk i+1-kStagingSlots: its upload must be done.
      if (i + 1 >= kStagingSlots) steps.wait_upload(slot(i + 1));
      steps.begin_download(slot(i + 1), range(i + 1));
    }
    steps.wait_download(slot(i));
    steps.work(slot(i), range(i));
    steps.begin_upload(slot(i), range(i));
  }
  // The uploads still in flight: the last kStagingSlots chunks at most.
  for (int64_t i = std::max<int64_t>(0, chunks - kStagingSlots); i < chunks; ++i)
    steps.wait_upload(slot(i));
}

}  // namespace cudp
