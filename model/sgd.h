// Sgd: torch.optim.SGD over a net's flat parameter buffer.
//
// The momentum buffer is one flat buffer on the parameters' device, created
// with the optimizer and filled on the first step (PyTorch clones the gradient
// there); kernels/sgd.h has the exact update.
// The step's values that change (lr, PyTorch's first-step flag, the skip flag
// of a non-finite loss) live in the device's memory (scalars()), written by
// begin_step() and read by the kernels when they run: a captured CUDA graph
// replays them. A step is begin_step, then any number of apply() pieces (the
// buckets' SGD), then end_step; step() is the three for one whole buffer.
#pragma once

#include <cstdint>

#include "kernels/sgd.h"
#include "runtime/memory.h"

namespace cudp {

class Sgd {
 public:
  Sgd(Device device, int64_t n, SgdOptions options);  // checks the options

  void step(const Context& ctx, float* params, const float* grads);

  // Writes lr, first_step (steps_taken() == 0) and skip = 0 on ctx's stream
  // (and waits for it: the host value may change at once).
  void begin_step(const Context& ctx);
  // Queues elements [offset, offset + count) of the update on ctx (any stream
  // that can read the scalars' device) with the scalars as they are then.
  void apply(const Context& ctx, float* params, const float* grads, int64_t offset, int64_t count);
  void end_step() { ++steps_; }
  const SgdStepScalars* scalars() const { return scalars_.data(); }
  // Device memory: mark_not_finite (kernels/finite.h) sets it to skip the update.
  int32_t* skip_flag() { return &scalars_.data()->skip; }
  // Reads the skip flag back (waits for ctx's stream).
  bool skipped(const Context& ctx);

  const SgdOptions& options() const { return options_; }
  int64_t steps_taken() const { return steps_; }
  // nullptr when momentum == 0
  float* momentum_buffer() { return momentum_.size() ? momentum_.data() : nullptr; }
  // Restores a checkpointed state (momentum values already copied in).
  void set_steps_taken(int64_t steps) { steps_ = steps; }
  // A learning-rate schedule's new rate (torch's param_group["lr"] = lr), between
  // steps; it reaches the device at the next begin_step.
  void set_lr(float lr) { options_.lr = lr; }

 private:
  SgdOptions options_;
  int64_t n_;
  Device device_;
  Buffer<float> momentum_;
  Buffer<SgdStepScalars> scalars_;
  int64_t steps_ = 0;
};

}  // namespace cudp
