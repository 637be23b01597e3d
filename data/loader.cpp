// BatchLoader (see loader.h).
#include "data/loader.h"

#include <algorithm>

#include "runtime/error.h"

namespace cudp {

BatchLoader::BatchLoader(const Dataset& data, int64_t batch, uint64_t seed, bool shuffle,
                         bool drop_last)
    : data_(data), batch_(batch), seed_(seed), shuffle_(shuffle), drop_last_(drop_last) {
  if (batch < 1) fail("batch size: expected >= 1, found ", batch);
  if (data.size() < 1) fail(data.name, ": the training set is empty");
  if (drop_last && data.size() < batch)
    fail_parameter("drop_last", "the training set has ", data.size(),
                   " samples, fewer than one batch of ", batch, ": every batch would be dropped");
}

int64_t BatchLoader::batches_per_epoch() const {
  return drop_last_ ? data_.size() / batch_ : (data_.size() + batch_ - 1) / batch_;
}

int64_t BatchLoader::batch_size_at(int64_t offset) const {
  return std::min(batch_, data_.size() - offset);
}

int64_t BatchLoader::next(float* x, int32_t* y) {
  if (order_epoch_ != epoch_) {
    order_ = epoch_order(data_.size(), seed_, epoch_, shuffle_);
    order_epoch_ = epoch_;
  }
  const int64_t n = batch_size_at(offset_);
  gather_batch(data_, order_, offset_, n, x, y);
  offset_ += n;
  // The epoch ends when no further batch fits: none left, or only a dropped partial one.
  const int64_t left = data_.size() - offset_;
  epoch_ended_ = left == 0 || (drop_last_ && left < batch_);
  if (epoch_ended_) {
    ++epoch_;
    offset_ = 0;
  }
  return n;
}

void BatchLoader::seek(LoaderPosition position) {
  const int64_t last = (batches_per_epoch() - 1) * batch_;
  if (position.epoch < 0 || position.offset < 0 || position.offset % batch_ != 0 ||
      position.offset > last)
    fail("loader position: expected an epoch >= 0 and an offset that starts a batch of ", batch_,
         " in 0..", last, ", found epoch ", position.epoch, " offset ", position.offset,
         " (was the checkpoint saved with another batch size or data set?)");
  epoch_ = position.epoch;
  offset_ = position.offset;
  epoch_ended_ = false;
}

}  // namespace cudp
