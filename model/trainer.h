// One-device training: the step of the article's listing, and evaluation.
//
//   step(x, y):  copy the batch to the device, forward, CrossEntropyLoss
//                (loss + dL/dlogits fused), backward (overwrites the grads,
//                i.e. zero_grad + backward), SGD step
// The batch comes from host memory; device buffers for it are allocated once
// for the largest batch seen. A NaN or infinite loss is an error naming the step.
#pragma once

#include <cstdint>
#include <vector>

#include "model/data/dataset.h"
#include "model/loss.h"
#include "model/sequential.h"
#include "model/sgd.h"

namespace cudp {

struct StepStats {
  float loss = 0;
  int64_t correct = 0;  // argmax(logits) == label
  int64_t samples = 0;
};

struct EvalStats {
  double loss = 0;  // mean over samples
  int64_t correct = 0, samples = 0;
  double accuracy() const { return samples ? static_cast<double>(correct) / samples : 0.0; }
};

class Trainer {
 public:
  Trainer(Sequential& net, const Context& ctx, SgdOptions sgd, CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t N);
  EvalStats evaluate(const Dataset& data, int64_t batch);

  Sequential& net() { return net_; }
  Sgd& optimizer() { return sgd_; }

 private:
  void upload(const float* host_x, const int32_t* host_y, int64_t N);
  int64_t count_correct(const float* logits, int64_t N);

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
