// CPU ReLU forward and backward over n elements (kernels/relu.h).
//
// Layout: flat; y may alias x and dx may alias dy (one read, then one write
// per element). The decision a reader would get wrong is NaN: forward keeps a
// NaN (torch.relu(nan) is nan), so it is written `x < 0 ? 0 : x`, not
// `max(x, 0)`, whose result for NaN depends on the argument order. Backward
// follows PyTorch's threshold_backward, `y <= 0 ? 0 : dy`: identical to the
// header's `y > 0 ? dy : 0` except that a NaN output passes its gradient on.
#include "kernels/relu.h"

namespace cudp::cpu {

void relu_forward(const Context& /*ctx*/, int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward(const Context& /*ctx*/, int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

}  // namespace cudp::cpu
