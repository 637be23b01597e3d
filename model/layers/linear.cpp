// Linear layer: y = x W^T + b, like torch.nn.Linear (bias always on).
//
// W is stored [out, in] as PyTorch does, so the three GEMMs are
//   forward         Y[N,out]  = X[N,in] * W^T        (NT)
//   backward-data   dX[N,in]  = dY[N,out] * W         (NN)
//   backward-weight dW[out,in] = dY^T * X             (TN)
// and the bias is bias_add/bias_grad with inner = 1. Parameters: weight, then
// bias, both ~ U(+-1/sqrt(in_features)). The input must already be flat ({F});
// a Flatten layer makes it so (there is no implicit view(-1, F) that could
// silently turn a batch of 32 into 512 rows, the seed article's bug).
#include <utility>

#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "model/layers.h"
#include "model/layers/layer_checks.h"

namespace cudp {
namespace {

class Linear final : public Layer {
 public:
  Linear(std::string name, int64_t in_features, int64_t out_features)
      : Layer(std::move(name)), in_(in_features), out_(out_features) {
    const std::string at = layers::where(name_, "Linear");
    layers::require_positive(at, "in_features", in_);
    layers::require_positive(at, "out_features", out_);
  }

  std::string describe() const override {
    return concat("Linear(in_features=", in_, ", out_features=", out_, ", bias=True)");
  }

  Shape infer(const Shape& input) override {
    const std::string at = layers::where(name_, "Linear");
    if (input.size() != 1)
      fail(at, ": expected a flat input of ", in_, " features, found ", shape_str(input),
           " (add a Flatten before it)");
    if (input[0] != in_) fail(at, ": expected ", in_, " input features, found ", input[0]);
    return {out_};
  }

  std::vector<ParamInfo> params() const override {
    return {{"weight", {out_, in_}, 0}, {"bias", {out_}, out_ * in_}};
  }

  void init(Rng& rng, float* host_params) const override {
    layers::fill_uniform_fan_in(rng, in_, out_ * in_, host_params);
    layers::fill_uniform_fan_in(rng, in_, out_, host_params + out_ * in_);
  }

  void forward(const Context& ctx, int64_t N, const float* x, float* y) override {
    gemm(ctx, GemmLayout::NT, N, out_, in_, 1.0f, x, params_, 0.0f, y);
    bias_add(ctx, N, out_, 1, params_ + out_ * in_, y);
  }

  void backward(const Context& ctx, int64_t N, const float* x, const float* y, const float* dy,
                float* dx) override {
    (void)y;
    gemm(ctx, GemmLayout::TN, out_, in_, N, 1.0f, dy, x, 0.0f, grads_);
    bias_grad(ctx, N, out_, 1, dy, grads_ + out_ * in_);
    if (dx) gemm(ctx, GemmLayout::NN, N, in_, out_, 1.0f, dy, params_, 0.0f, dx);
  }

 private:
  int64_t in_, out_;
};

}  // namespace

std::unique_ptr<Layer> make_linear(std::string name, int64_t in_features, int64_t out_features) {
  return std::make_unique<Linear>(std::move(name), in_features, out_features);
}

}  // namespace cudp
