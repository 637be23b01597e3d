// BatchLoader: the batches of a training run, epoch after epoch, from a Dataset
// in host memory.
//
// Epoch e visits the samples in epoch_order(n, seed, e, shuffle) (dataset.h),
// cut into batches of `batch`; the last partial batch is kept unless
// drop_last. Its position is two numbers, (epoch, sample offset in that
// epoch's order), so a checkpoint that stores them resumes on exactly the
// batch that would have come next: the order is recomputed, never stored.
#pragma once

#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace cudp {

struct LoaderPosition {
  int64_t epoch = 0;   // the epoch of the next batch
  int64_t offset = 0;  // samples of that epoch already delivered
};

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, int64_t batch, uint64_t seed, bool shuffle, bool drop_last);

  int64_t batches_per_epoch() const;
  // Copies the next batch into x [n, C, H, W] and y [n]; returns n.
  int64_t next(float* x, int32_t* y);
  // True when the last next() delivered an epoch's final batch.
  bool epoch_ended() const { return epoch_ended_; }

  LoaderPosition position() const { return {epoch_, offset_}; }
  // Moves to `position` (from a checkpoint); throws if it is not a batch boundary.
  void seek(LoaderPosition position);

 private:
  int64_t batch_size_at(int64_t offset) const;

  const Dataset& data_;
  int64_t batch_;
  uint64_t seed_;
  bool shuffle_, drop_last_;
  int64_t epoch_ = 0, offset_ = 0;
  int64_t order_epoch_ = -1;  // the epoch whose order is in order_
  std::vector<int64_t> order_;
  bool epoch_ended_ = false;
};

}  // namespace cudp
