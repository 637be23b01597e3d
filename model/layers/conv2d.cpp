// Conv2d layer: kernels/conv2d.h plus a per-channel bias, like torch.nn.Conv2d.
//
// Parameters, in state_dict order: weight [K, C, R, S], then bias [K], both
// ~ U(+-1/sqrt(C*R*S)) drawn weight first. Square kernels, one stride and one
// padding for both axes (what torch's int arguments mean). describe() copies
// torch's repr, which shows padding only when it is not zero.
#include <utility>

#include "kernels/bias.h"
#include "kernels/conv2d.h"
#include "model/layers.h"
#include "model/layers/layer_checks.h"

namespace cudp {
namespace {

class Conv2d final : public Layer {
 public:
  Conv2d(std::string name, int64_t in_channels, int64_t out_channels, int64_t kernel_size,
         int64_t stride, int64_t padding)
      : Layer(std::move(name)) {
    const std::string at = layers::where(name_, "Conv2d");
    layers::require_positive(at, "in_channels", in_channels);
    layers::require_positive(at, "out_channels", out_channels);
    layers::require_positive(at, "kernel_size", kernel_size);
    layers::require_positive(at, "stride", stride);
    if (padding < 0) fail(at, ": padding must be >= 0, found ", padding);
    shape_.C = in_channels;
    shape_.K = out_channels;
    shape_.R = shape_.S = kernel_size;
    shape_.stride = stride;
    shape_.padding = padding;
  }

  std::string describe() const override {
    std::string s = concat("Conv2d(", shape_.C, ", ", shape_.K, ", kernel_size=(", shape_.R, ", ",
                           shape_.S, "), stride=(", shape_.stride, ", ", shape_.stride, ")");
    if (shape_.padding != 0) s += concat(", padding=(", shape_.padding, ", ", shape_.padding, ")");
    return s + ")";
  }

  Shape infer(const Shape& input) override {
    const std::string at = layers::where(name_, "Conv2d");
    if (input.size() != 3)
      fail(at, ": expected a C x H x W input with C = ", shape_.C, ", found ", shape_str(input));
    if (input[0] != shape_.C)
      fail(at, ": expected ", shape_.C, " input channels, found ", input[0]);
    shape_.H = input[1];
    shape_.W = input[2];
    if (shape_.H + 2 * shape_.padding < shape_.R || shape_.W + 2 * shape_.padding < shape_.S)
      fail(at, ": input ", shape_str(input), " with padding ", shape_.padding,
           " is smaller than the ", shape_.R, "x", shape_.S, " kernel");
    return {shape_.K, shape_.P(), shape_.Q()};
  }

  std::vector<ParamInfo> params() const override {
    return {{"weight", {shape_.K, shape_.C, shape_.R, shape_.S}, 0},
            {"bias", {shape_.K}, shape_.w_size()}};
  }

  void init(Rng& rng, float* host_params) const override {
    const int64_t fan_in = shape_.C * shape_.R * shape_.S;
    layers::fill_uniform_fan_in(rng, fan_in, shape_.w_size(), host_params);
    layers::fill_uniform_fan_in(rng, fan_in, shape_.K, host_params + shape_.w_size());
  }

  void forward(const Context& ctx, int64_t N, const float* x, float* y) override {
    const Conv2dShape s = batch(N);
    conv2d_forward(ctx, s, x, params_, y);
    bias_add(ctx, N, s.K, s.P() * s.Q(), params_ + s.w_size(), y);
  }

  void backward(const Context& ctx, int64_t N, const float* x, const float* y, const float* dy,
                float* dx) override {
    (void)y;
    const Conv2dShape s = batch(N);
    conv2d_backward_weight(ctx, s, x, dy, grads_);
    bias_grad(ctx, N, s.K, s.P() * s.Q(), dy, grads_ + s.w_size());
    if (dx) conv2d_backward_data(ctx, s, dy, params_, dx);
  }

 private:
  Conv2dShape batch(int64_t N) const {
    Conv2dShape s = shape_;
    s.N = N;
    return s;
  }

  Conv2dShape shape_;  // N is filled per call; H, W by infer()
};

}  // namespace

std::unique_ptr<Layer> make_conv2d(std::string name, int64_t in_channels, int64_t out_channels,
                                   int64_t kernel_size, int64_t stride, int64_t padding) {
  return std::make_unique<Conv2d>(std::move(name), in_channels, out_channels, kernel_size, stride,
                                  padding);
}

}  // namespace cudp
