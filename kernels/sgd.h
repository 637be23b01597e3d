// SGD over one flat parameter buffer: torch.optim.SGD's exact update.
//
// For every element (g = grad, p = param, buf = momentum buffer):
//   g   = maximize ? -g : g
//   g   = g + weight_decay * p                       (if weight_decay != 0)
//   buf = first_step ? g : momentum * buf + (1 - dampening) * g   (if momentum != 0)
//   g   = nesterov ? g + momentum * buf : buf                     (if momentum != 0)
//   p   = p - lr * g
// `momentum_buffer` may be nullptr when momentum == 0. `first_step` is true on
// the step where PyTorch finds no buffer yet (it then clones g, no dampening).
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

struct SgdOptions {
  float lr = 0.001f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool maximize = false;
};

// Throws cudp::Error on options torch.optim.SGD refuses (lr < 0, nesterov
// without momentum or with dampening, ...), naming the option.
void check_sgd_options(const SgdOptions& options);

CUDP_DECLARE_OP(sgd_step, int64_t n, float* params, const float* grads, float* momentum_buffer,
                const SgdOptions& options, bool first_step)

inline void sgd_step(const Context& ctx, int64_t n, float* params, const float* grads,
                     float* momentum_buffer, const SgdOptions& options, bool first_step) {
  CUDP_DISPATCH(ctx, sgd_step, n, params, grads, momentum_buffer, options, first_step);
}

}  // namespace cudp
