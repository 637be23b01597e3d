// CrossEntropyLoss: PyTorch's nn.CrossEntropyLoss over a batch of logits.
//
// compute() queues the fused loss+gradient kernel (kernels/cross_entropy.h);
// the loss stays on the device until value() brings it back, which also turns
// an out-of-range target into a cudp::Error naming the row and the label.
#pragma once

#include <cstdint>

#include "kernels/cross_entropy.h"
#include "runtime/memory.h"

namespace cudp {

class CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(Device device, CrossEntropyOptions options = {});

  // logits [N, classes], targets [N] on the loss's device; dlogits may be nullptr.
  void compute(const Context& ctx, int64_t N, int64_t classes, const float* logits,
               const int32_t* targets, float* dlogits);
  // Waits for compute() and returns the loss; throws on a bad target.
  float value(const Context& ctx);

  const CrossEntropyOptions& options() const { return options_; }
  // The loss in the device's memory, written by compute() (for the device-side
  // divergence check, kernels/finite.h).
  const float* device_value() const { return loss_.data(); }
  // The first row whose target is out of range (-1: none), in the device's memory.
  const int32_t* device_first_bad_row() const { return first_bad_row_.data(); }

 private:
  CrossEntropyOptions options_;
  Buffer<float> loss_;
  Buffer<int32_t> first_bad_row_;
  const int32_t* targets_ = nullptr;
  int64_t classes_ = 0;
};

}  // namespace cudp
