// BatchLoader: every sample once per epoch, file order with --no-shuffle, the
// last partial batch kept or dropped, and a seek to a saved position that
// continues with exactly the batches a straight run delivers.
#include "data/loader.h"

#include <algorithm>

#include "tests/common/expect_error.h"

namespace cudp {
namespace {

// n samples of shape 1x1x2 whose pixels are (i, -i) and whose label is i % 10.
Dataset numbered(int64_t n) {
  Dataset d;
  d.name = "numbered";
  d.sample_shape = {1, 1, 2};
  for (int64_t i = 0; i < n; ++i) {
    d.images.push_back(static_cast<float>(i));
    d.images.push_back(static_cast<float>(-i));
    d.labels.push_back(static_cast<int32_t>(i % 10));
  }
  return d;
}

// The sample ids of the next `batches` batches, one vector per batch.
std::vector<std::vector<int64_t>> take(BatchLoader& loader, int64_t batches, int64_t batch) {
  std::vector<std::vector<int64_t>> out;
  std::vector<float> x(static_cast<size_t>(2 * batch));
  std::vector<int32_t> y(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t n = loader.next(x.data(), y.data());
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(x[2 * i + 1], -x[2 * i]);
      EXPECT_EQ(y[i], static_cast<int64_t>(x[2 * i]) % 10);
      ids.push_back(static_cast<int64_t>(x[2 * i]));
    }
    out.push_back(ids);
  }
  return out;
}

TEST(BatchLoader, EveryEpochVisitsEverySampleOnceAndKeepsTheLastPartialBatch) {
  const Dataset d = numbered(10);
  BatchLoader loader(d, 4, 7, /*shuffle=*/true, /*drop_last=*/false);
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 2; ++e) {
    const auto batches = take(loader, 3, 4);
    EXPECT_EQ(batches[2].size(), 2u);
    EXPECT_TRUE(loader.epoch_ended());
    std::vector<int64_t> all;
    for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
    epochs.push_back(all);
    std::sort(all.begin(), all.end());
    for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i);
  }
  EXPECT_NE(epochs[0], epochs[1]) << "each epoch has its own order";
}

TEST(BatchLoader, NoShuffleKeepsFileOrder) {
  const Dataset d = numbered(5);
  BatchLoader loader(d, 2, 7, /*shuffle=*/false, /*drop_last=*/false);
  EXPECT_EQ(take(loader, 4, 2), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {4}, {0, 1}}));
}

TEST(BatchLoader, DropLastSkipsThePartialBatch) {
  const Dataset d = numbered(5);
  BatchLoader loader(d, 2, 7, /*shuffle=*/false, /*drop_last=*/true);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  EXPECT_EQ(take(loader, 3, 2), (std::vector<std::vector<int64_t>>{{0, 1}, {2, 3}, {0, 1}}));
  EXPECT_EQ(loader.position().epoch, 1);
  EXPECT_PARAMETER_ERROR(BatchLoader(d, 6, 7, false, true), "drop_last",
                         "drop_last: the training set has 5 samples, fewer than one batch of 6");
}

TEST(BatchLoader, SeekContinuesExactlyAsAStraightRun) {
  const Dataset d = numbered(11);
  for (bool drop_last : {false, true}) {
    BatchLoader straight(d, 3, 5, true, drop_last);
    const auto all = take(straight, 9, 3);
    BatchLoader first(d, 3, 5, true, drop_last);
    take(first, 4, 3);
    BatchLoader resumed(d, 3, 5, true, drop_last);
    resumed.seek(first.position());
    const auto rest = take(resumed, 5, 3);
    EXPECT_EQ(rest, std::vector<std::vector<int64_t>>(all.begin() + 4, all.end()));
  }
}

TEST(BatchLoader, SeekRefusesAPositionThatIsNoBatchBoundary) {
  const Dataset d = numbered(11);
  BatchLoader loader(d, 3, 5, true, false);
  EXPECT_ERROR(loader.seek({1, 4}), "offset that starts a batch of 3 in 0..9",
               "found epoch 1 offset 4");
  EXPECT_ERROR(loader.seek({0, 12}), "found epoch 0 offset 12");
}

}  // namespace
}  // namespace cudp
