// Sgd: torch.optim.SGD over a net's flat parameter buffer.
//
// The momentum buffer is one flat buffer on the parameters' device, created
// with the optimizer and filled on the first step (PyTorch clones the gradient
// there); kernels/sgd.h has the exact update.
#pragma once

#include <cstdint>

#include "kernels/sgd.h"
#include "runtime/memory.h"

namespace cudp {

class Sgd {
 public:
  Sgd(Device device, int64_t n, SgdOptions options);  // checks the options

  void step(const Context& ctx, float* params, const float* grads);

  const SgdOptions& options() const { return options_; }
  int64_t steps_taken() const { return steps_; }
  // nullptr when momentum == 0
  float* momentum_buffer() { return momentum_.size() ? momentum_.data() : nullptr; }
  // Restores a checkpointed state (momentum values already copied in).
  void set_steps_taken(int64_t steps) { steps_ = steps; }
  // A learning-rate schedule's new rate (torch's param_group["lr"] = lr), between steps.
  void set_lr(float lr) { options_.lr = lr; }

 private:
  SgdOptions options_;
  int64_t n_;
  Buffer<float> momentum_;
  int64_t steps_ = 0;
};

}  // namespace cudp
