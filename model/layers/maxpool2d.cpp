// MaxPool2d layer: torch.nn.MaxPool2d(kernel_size, stride), no padding.
//
// forward records each window's winner in an int32 argmax buffer that the
// layer owns, sized by reserve(device, N) for the largest batch so far;
// backward scatters dy through it and needs neither x nor y. describe() is
// shortened to "MaxPool2d(kernel_size=2, stride=2)" (torch also prints its
// padding=0, dilation=1, ceil_mode=False defaults, which cudp does not have).
#include <utility>

#include "kernels/maxpool.h"
#include "model/layers.h"
#include "model/layers/layer_checks.h"
#include "runtime/memory.h"

namespace cudp {
namespace {

class MaxPool2d final : public Layer {
 public:
  MaxPool2d(std::string name, int64_t kernel_size, int64_t stride) : Layer(std::move(name)) {
    const std::string at = layers::where(name_, "MaxPool2d");
    layers::require_positive(at, "kernel_size", kernel_size);
    layers::require_positive(at, "stride", stride);
    shape_.kernel = kernel_size;
    shape_.stride = stride;
  }

  std::string describe() const override {
    return concat("MaxPool2d(kernel_size=", shape_.kernel, ", stride=", shape_.stride, ")");
  }

  Shape infer(const Shape& input) override {
    const std::string at = layers::where(name_, "MaxPool2d");
    if (input.size() != 3) fail(at, ": expected a C x H x W input, found ", shape_str(input));
    if (input[0] <= 0 || input[1] < shape_.kernel || input[2] < shape_.kernel)
      fail(at, ": input ", shape_str(input), " is smaller than the ", shape_.kernel, "x",
           shape_.kernel, " window");
    shape_.C = input[0];
    shape_.H = input[1];
    shape_.W = input[2];
    return {shape_.C, shape_.P(), shape_.Q()};
  }

  void reserve(Device device, int64_t N) override {
    const auto needed = static_cast<std::size_t>(batch(N).y_size());
    if (argmax_.size() < needed || argmax_.device() != device)
      argmax_ = Buffer<int32_t>(device, needed);
  }

  void forward(const Context& ctx, int64_t N, const float* x, float* y) override {
    const MaxPool2dShape s = batch(N);
    CUDP_ASSERT(argmax_.size() >= static_cast<std::size_t>(s.y_size()));
    maxpool2d_forward(ctx, s, x, y, argmax_.data());
  }

  void backward(const Context& ctx, int64_t N, const float* x, const float* y, const float* dy,
                float* dx) override {
    (void)x;
    (void)y;
    if (dx) maxpool2d_backward(ctx, batch(N), dy, argmax_.data(), dx);
  }

 private:
  MaxPool2dShape batch(int64_t N) const {
    MaxPool2dShape s = shape_;
    s.N = N;
    return s;
  }

  MaxPool2dShape shape_;
  Buffer<int32_t> argmax_;  // [N, C, P, Q], winner as h*W + w within its plane
};

}  // namespace

std::unique_ptr<Layer> make_maxpool2d(std::string name, int64_t kernel_size, int64_t stride) {
  return std::make_unique<MaxPool2d>(std::move(name), kernel_size, stride);
}

}  // namespace cudp
