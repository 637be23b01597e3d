// OneDeviceTrainer: the step of the article's listing on one device, and
// evaluation (the Trainer interface, model/trainer.h).
//
//   step(x, y):  copy the batch to the device, forward, CrossEntropyLoss
//                (loss + dL/dlogits fused), backward (overwrites the grads,
//                i.e. zero_grad + backward), SGD step
// The batch comes from host memory; device buffers for it are allocated once
// for the largest batch seen. A NaN or infinite loss is an error naming the step.
// It is the reference the data-parallel trainers are tested against.
#pragma once

#include <cstdint>
#include <vector>

#include "model/loss.h"
#include "model/trainer.h"

namespace cudp {

class OneDeviceTrainer final : public Trainer {
 public:
  OneDeviceTrainer(Sequential& net, const Context& ctx, SgdOptions sgd,
                   CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t N) override;
  EvalStats evaluate(const Dataset& data, int64_t batch) override;
  Sequential& net() override { return net_; }
  Sgd& optimizer() override { return sgd_; }
  void restored(int64_t steps) override { steps_ = steps; }
  void set_lr(float lr) override { sgd_.set_lr(lr); }

 private:
  void upload(const float* host_x, const int32_t* host_y, int64_t N);
  int64_t correct_of(const float* logits, int64_t N);

  Sequential& net_;
  Context ctx_;
  Sgd sgd_;
  CrossEntropyLoss loss_;
  Buffer<float> x_, dlogits_;
  Buffer<int32_t> y_;
  std::vector<float> host_logits_;
  std::vector<int32_t> host_labels_;
  int64_t capacity_ = 0;
  int64_t steps_ = 0;
};

}  // namespace cudp
