// Sequential: a net of layers whose shapes are inferred and checked when built.
//
// All parameters of the net live in ONE contiguous buffer and all gradients in
// another (layers hold views), so that saving, broadcasting or reducing a model
// is one buffer. Activations are allocated once for the largest batch seen and
// reused, so a steady-state step allocates nothing.
//
// Where the layers' work runs is the caller's: forward and backward take an
// optional LayerRunner, which receives each layer's work as a closure (pointers
// and sizes captured by value) and may queue it on a stream, wrap it in a trace
// span or wait for something first. Without one the work runs at once. So the
// one-device Trainer and every data-parallel replica share these loops.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/layer.h"
#include "runtime/memory.h"

namespace cudp {

struct NamedParam {
  std::string name;  // PyTorch state_dict name: "conv1.weight"
  Shape shape;
  int64_t offset = 0;  // in the flat buffer
  int64_t numel() const { return shape_numel(shape); }
};

class LayerRunner {
 public:
  virtual ~LayerRunner() = default;
  // Layer `layer`'s forward (or backward) is `work`; run it, or queue it.
  virtual void forward(std::size_t layer, std::function<void()> work) = 0;
  virtual void backward(std::size_t layer, std::function<void()> work) = 0;
};

class Sequential {
 public:
  // Infers every layer's shape from `input` (per sample, {C,H,W}); throws
  // cudp::Error naming the layer, the expected and the found shape.
  Sequential(std::string name, Shape input, std::vector<std::unique_ptr<Layer>> layers,
             Device device);

  const std::string& name() const { return name_; }
  Device device() const { return device_; }
  const Shape& input_shape() const { return input_; }
  const Shape& output_shape() const { return shapes_.back(); }
  int64_t classes() const { return shape_numel(output_shape()); }
  const std::vector<std::unique_ptr<Layer>>& layers() const { return layers_; }
  const std::vector<Shape>& shapes() const { return shapes_; }  // input, then each layer's output

  int64_t param_count() const { return static_cast<int64_t>(params_.size()); }
  float* params() { return params_.data(); }
  const float* params() const { return params_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  const std::vector<NamedParam>& named_params() const { return named_; }
  // Layer i's parameters (and gradients) in the flat buffers: [offset, offset + count).
  int64_t param_offset(std::size_t layer) const { return param_offsets_.at(layer); }

  // PyTorch's default init, layer by layer in order, from Rng(seed).
  void init(uint64_t seed);

  // Activations (and the layers' own buffers) for up to N samples. It
  // reallocates: call it only while nothing queued still uses them.
  void reserve(int64_t N);
  // Runs the net on N samples at `x` (on the net's device); returns the logits
  // [N, classes], owned by the net and valid until the next forward.
  const float* forward(const Context& ctx, int64_t N, const float* x,
                       LayerRunner* runner = nullptr);
  const float* logits() const;  // of the last forward
  // Backward of the last forward given dL/dlogits; overwrites grads().
  void backward(const Context& ctx, const float* dlogits, LayerRunner* runner = nullptr);

  std::string summary() const;  // one line per layer with its output shape and parameters

 private:
  const float* output_of(std::size_t i) const;  // layer i's output of the last forward
  float* grad_buffer(std::size_t i);            // dL/d(layer i's output), in the net's buffers

  std::string name_;
  Shape input_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<Shape> shapes_;
  std::vector<NamedParam> named_;
  std::vector<int64_t> param_offsets_;  // per layer
  Device device_;
  Buffer<float> params_, grads_;
  std::vector<Buffer<float>> activations_, activation_grads_;  // per layer output
  // Per layer: which layer's buffer holds its output; an aliasing layer (Flatten)
  // inherits its input's, and -1 is the net's input x.
  std::vector<int> source_;
  int64_t capacity_ = 0, last_N_ = 0;
  const float* last_x_ = nullptr;
};

}  // namespace cudp
