// Flatten layer: {C, H, W} -> {C*H*W}, torch.nn.Flatten's default.
//
// NCHW is contiguous, so flattening moves no byte: output_aliases_input() is
// true and Sequential hands the input on without calling forward/backward
// (no buffer, no copy). Called directly with distinct pointers, forward and
// backward still do the right thing: one device-side copy (copy_bytes).
#include <utility>

#include "model/layers.h"
#include "model/layers/layer_checks.h"
#include "runtime/memory.h"

namespace cudp {
namespace {

class Flatten final : public Layer {
 public:
  explicit Flatten(std::string name) : Layer(std::move(name)) {}

  std::string describe() const override { return "Flatten()"; }

  Shape infer(const Shape& input) override {
    if (input.empty() || shape_numel(input) <= 0)
      fail(layers::where(name_, "Flatten"), ": expected a non-empty input, found ",
           shape_str(input));
    numel_ = shape_numel(input);
    return {numel_};
  }

  bool output_aliases_input() const override { return true; }

  void forward(const Context& ctx, int64_t N, const float* x, float* y) override {
    if (y != x) copy_bytes(ctx, y, ctx.device, x, ctx.device, bytes(N));
  }

  void backward(const Context& ctx, int64_t N, const float* x, const float* y, const float* dy,
                float* dx) override {
    (void)x;
    (void)y;
    if (dx && dx != dy) copy_bytes(ctx, dx, ctx.device, dy, ctx.device, bytes(N));
  }

 private:
  std::size_t bytes(int64_t N) const {
    return static_cast<std::size_t>(N * numel_) * sizeof(float);
  }

  int64_t numel_ = 0;  // per sample
};

}  // namespace

std::unique_ptr<Layer> make_flatten(std::string name) {
  return std::make_unique<Flatten>(std::move(name));
}

}  // namespace cudp
