// CPU SGD step over one flat parameter buffer: torch.optim.SGD's update (kernels/sgd.h).
//
// Layout: params, grads and momentum_buffer are n contiguous floats each.
// The decision a reader would get wrong: the order of operations is PyTorch's
// and is kept exactly (maximize, then weight decay, then momentum, then
// nesterov, then p = p - lr * g). On the first step the buffer is a copy of g
// (no dampening), as PyTorch clones the gradient when it finds no buffer.
// Options are assumed checked (check_sgd_options, in kernels/shapes.cpp).
#include "kernels/sgd.h"

namespace cudp::cpu {

void sgd_step(const Context& /*ctx*/, int64_t n, float* params, const float* grads,
              float* momentum_buffer, const SgdOptions& o, bool first_step) {
  const bool use_momentum = o.momentum != 0.0f;
  CUDP_ASSERT(!use_momentum || momentum_buffer != nullptr);
  for (int64_t i = 0; i < n; ++i) {
    float g = o.maximize ? -grads[i] : grads[i];
    if (o.weight_decay != 0.0f) g = g + o.weight_decay * params[i];
    if (use_momentum) {
      float& buf = momentum_buffer[i];
      buf = first_step ? g : o.momentum * buf + (1.0f - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * buf : buf;
    }
    params[i] = params[i] - o.lr * g;
  }
}

}  // namespace cudp::cpu
