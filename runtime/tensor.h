// Tensor: float32, contiguous, NCHW, on one device. It owns its memory.
//
// Layers do not hold Tensors for their parameters: they hold raw views into
// their model's one flat parameter buffer (see model/sequential.h). A Tensor is
// for the things that stand alone: inputs, outputs, test data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/memory.h"

namespace cudp {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "32x3x32x32"

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, Device device = cpu_device());

  float* data() { return buffer_.data(); }
  const float* data() const { return buffer_.data(); }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i)); }
  int64_t numel() const { return static_cast<int64_t>(buffer_.size()); }
  Device device() const { return buffer_.device(); }

 private:
  Shape shape_;
  Buffer<float> buffer_;
};

// Explicit copy of `src` onto `device` (waits for the copy to finish).
Tensor copy_to(const Tensor& src, Device device);
// The elements on the host (waits for the copy to finish).
std::vector<float> to_host(const Tensor& src);
// A tensor on `device` holding `values` (which must have shape_numel(shape) elements).
Tensor from_host(const std::vector<float>& values, Shape shape, Device device = cpu_device());

}  // namespace cudp
