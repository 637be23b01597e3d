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
//
// Two forms, one kernel per backend: sgd_step takes lr (options.lr) and first_step
// by value, when the work is queued; sgd_step_from reads them from SgdStepScalars
// in the device's memory when the kernel RUNS, so that a CUDA graph captured once
// replays with each step's values (model/sgd.h writes them before the step), and
// skips the whole update when `skip` is set (the loss was not finite, kernels/finite.h).
// sgd_step_from ignores options.lr. On a CPU device the scalars are host memory
// of that device, read by the stream's worker.
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

struct SgdStepScalars {
  float lr = 0.0f;
  int32_t first_step = 0;  // non-zero on PyTorch's first step (no buffer yet)
  int32_t skip = 0;        // non-zero: leave params and buffer untouched
};

CUDP_DECLARE_OP(sgd_step, int64_t n, float* params, const float* grads, float* momentum_buffer,
                const SgdOptions& options, bool first_step)

inline void sgd_step(const Context& ctx, int64_t n, float* params, const float* grads,
                     float* momentum_buffer, const SgdOptions& options, bool first_step) {
  CUDP_DISPATCH(ctx, sgd_step, n, params, grads, momentum_buffer, options, first_step);
}

CUDP_DECLARE_OP(sgd_step_from, int64_t n, float* params, const float* grads,
                float* momentum_buffer, const SgdOptions& options, const SgdStepScalars* scalars)

inline void sgd_step_from(const Context& ctx, int64_t n, float* params, const float* grads,
                          float* momentum_buffer, const SgdOptions& options,
                          const SgdStepScalars* scalars) {
  CUDP_DISPATCH(ctx, sgd_step_from, n, params, grads, momentum_buffer, options, scalars);
}

}  // namespace cudp
