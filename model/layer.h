// Layer: one step of a Sequential net, with an explicit forward and backward.
//
// Shapes here are PER SAMPLE: {C, H, W} for images, {F} for feature vectors;
// the batch size N is passed to forward/backward. A layer with parameters
// owns a slice of its net's ONE flat parameter buffer and the same slice of
// the ONE flat gradient buffer (bind), in the order of params(). backward
// OVERWRITES its parameter gradients (zero_grad + backward in one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/context.h"
#include "runtime/rng.h"
#include "runtime/shape.h"

namespace cudp {

// One parameter tensor of a layer: its state_dict suffix ("weight"), its shape,
// and its offset from the start of the layer's slice.
struct ParamInfo {
  std::string suffix;
  Shape shape;
  int64_t offset = 0;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }  // state_dict prefix, e.g. "conv1"
  virtual std::string describe() const = 0;          // "Conv2d(3, 64, kernel_size=3, ...)"

  // Checks the per-sample input shape and returns the output shape; called once
  // when the net is built. Errors name the layer and both shapes.
  virtual Shape infer(const Shape& input) = 0;

  virtual std::vector<ParamInfo> params() const { return {}; }
  int64_t param_count() const;
  void bind(float* params, float* grads) {
    params_ = params;
    grads_ = grads;
  }
  // PyTorch's default initialisation of this layer's parameters (host memory).
  virtual void init(Rng& rng, float* host_params) const {
    (void)rng;
    (void)host_params;
  }

  // True for pure reshapes (Flatten): Sequential gives such a layer no buffers,
  // hands its input on as its output and calls neither forward nor backward.
  virtual bool output_aliases_input() const { return false; }

  // Allocates per-batch scratch on `device` for up to N samples (max-pool's argmax).
  virtual void reserve(Device device, int64_t N) {
    (void)device;
    (void)N;
  }

  virtual void forward(const Context& ctx, int64_t N, const float* x, float* y) = 0;
  // dx may be nullptr: the first layer needs no input gradient.
  virtual void backward(const Context& ctx, int64_t N, const float* x, const float* y,
                        const float* dy, float* dx) = 0;

 protected:
  std::string name_;
  float* params_ = nullptr;
  float* grads_ = nullptr;
};

}  // namespace cudp
