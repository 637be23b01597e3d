// Replica: one model instance on one logical device, run layer by layer.
//
// It owns its net (flat params and grads, as every Sequential), the batch
// buffers of its shard (x, y, dlogits) and its own activations, and queues
// forward and backward on its device's compute stream one layer at a time, so
// that each layer is a span of the trace (forward/conv1, backward/fc2, ...).
// The loop is Sequential::forward/backward's, buffer for buffer: a layer whose
// output aliases its input (Flatten) gets no buffer and is skipped, the first
// real layer gets dx = nullptr, backward overwrites the grads. A test checks
// that one replica is bitwise the one-device Trainer.
// The decision a reader would get wrong: reserve() reallocates buffers, so it
// runs on the host only while the device's streams are idle (between steps).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/loss.h"
#include "model/sequential.h"
#include "parallel/device_group.h"
#include "parallel/trace.h"

namespace cudp {

class Replica {
 public:
  Replica(LogicalDevice& device, std::unique_ptr<Sequential> net);

  Sequential& net() { return *net_; }
  LogicalDevice& device() { return device_; }
  int64_t sample_numel() const { return sample_; }
  int64_t classes() const { return classes_; }

  void reserve(int64_t N);  // shard buffers and activations for up to N samples
  float* x() { return x_.data(); }
  int32_t* y() { return y_.data(); }
  float* dlogits() { return dlogits_.data(); }
  const float* logits() const;  // [N, classes] of the last forward

  // Queued on the compute stream: x -> logits for N samples. before_layer(i),
  // when given, runs on the host before layer i is queued (dp makes the stream
  // wait there for that layer's parameters).
  void forward(int64_t N, Tracer* tracer,
               const std::function<void(std::size_t)>& before_layer = nullptr);

  // Backward (dlogits -> grads), queued one layer at a time so that the
  // trainers can hand each layer's gradient bucket on: the layers to run, in
  // order (last first), and the slice of the flat gradient buffer each one
  // writes (count 0: a layer without parameters).
  struct GradSlice {
    int64_t offset = 0, count = 0;
  };
  const std::vector<std::size_t>& backward_order() const { return backward_order_; }
  GradSlice grad_slice(std::size_t layer) const { return slices_[layer]; }
  void backward_layer(std::size_t layer, Tracer* tracer);

 private:
  const float* output_of(std::size_t i) const;
  float* grad_buffer(std::size_t i);

  LogicalDevice& device_;
  std::unique_ptr<Sequential> net_;
  int64_t sample_, classes_;
  std::vector<int> source_;  // whose buffer holds layer i's output; -1 is x
  std::vector<std::string> forward_names_, backward_names_;
  std::vector<std::size_t> backward_order_;
  std::vector<GradSlice> slices_;
  std::vector<Buffer<float>> activations_, activation_grads_;
  Buffer<float> x_, dlogits_;
  Buffer<int32_t> y_;
  int64_t capacity_ = 0, last_N_ = 0;
};

}  // namespace cudp
