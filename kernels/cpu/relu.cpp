// CPU ReLU, forward and backward over n elements (kernels/relu.h).
//
// Versions (kernels/cpu/elementwise_versions.h): v1, the plain loops here, one
// thread; v2 (elementwise_fast.cpp) runs them on ctx.threads shares of the
// range, so both give the same bits. The public ops, at the end, run v2.
//
// Layout: flat; y may alias x and dx may alias dy (one read, then one write
// per element). The decision a reader would get wrong is NaN: forward keeps a
// NaN (torch.relu(nan) is nan), so it is written `x < 0 ? 0 : x`, not
// `max(x, 0)`, whose result for NaN depends on the argument order. Backward
// follows PyTorch's threshold_backward, `y <= 0 ? 0 : dy`: identical to the
// header's `y > 0 ? dy : 0` except that a NaN output passes its gradient on.
#include "kernels/cpu/elementwise_versions.h"

namespace cudp::cpu {

void relu_forward_v1(const Context& /*ctx*/, int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward_v1(const Context& /*ctx*/, int64_t n, const float* y, const float* dy,
                      float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

void relu_forward(const Context& ctx, int64_t n, const float* x, float* y) {
  relu_forward_v2(ctx, n, x, y);
}
void relu_backward(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  relu_backward_v2(ctx, n, y, dy, dx);
}

}  // namespace cudp::cpu
