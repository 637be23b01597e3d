// ReLU layer over any per-sample shape (torch.nn.ReLU, not in place).
//
// backward reads the forward OUTPUT y (y > 0 exactly where x > 0), so the
// net keeps no copy of the input for it; kernels/relu.h has the NaN rules.
#include <utility>

#include "kernels/relu.h"
#include "model/layers.h"
#include "model/layers/layer_checks.h"

namespace cudp {
namespace {

class Relu final : public Layer {
 public:
  explicit Relu(std::string name) : Layer(std::move(name)) {}

  std::string describe() const override { return "ReLU()"; }

  Shape infer(const Shape& input) override {
    if (input.empty() || shape_numel(input) <= 0)
      fail(layers::where(name_, "ReLU"), ": expected a non-empty input, found ", shape_str(input));
    numel_ = shape_numel(input);
    return input;
  }

  void forward(const Context& ctx, int64_t N, const float* x, float* y) override {
    relu_forward(ctx, N * numel_, x, y);
  }

  void backward(const Context& ctx, int64_t N, const float* x, const float* y, const float* dy,
                float* dx) override {
    (void)x;
    if (dx) relu_backward(ctx, N * numel_, y, dy, dx);
  }

 private:
  int64_t numel_ = 0;  // per sample
};

}  // namespace

std::unique_ptr<Layer> make_relu(std::string name) {
  return std::make_unique<Relu>(std::move(name));
}

}  // namespace cudp
