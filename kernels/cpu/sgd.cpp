// CPU SGD step over one flat parameter buffer: torch.optim.SGD's update (kernels/sgd.h).
//
// Versions (kernels/cpu/elementwise_versions.h): v1, the plain loop here, one
// thread; v2 (sgd_fast.cpp) runs the same roundings on 8 lanes and ctx.threads
// shares. The public cpu::sgd_step, at the end, runs v2.
// Layout: params, grads and momentum_buffer are n contiguous floats each.
// The decisions a reader would get wrong:
//  - the order of operations is PyTorch's and is kept exactly (maximize, then
//    weight decay, then momentum, then nesterov, then p = p - lr * g). On the
//    first step the buffer is a copy of g (no dampening), as PyTorch clones the
//    gradient when it finds no buffer;
//  - every multiply and every add rounds on its own: this file is compiled with
//    -ffp-contract=off (kernels/CMakeLists.txt), because g++ would otherwise fuse
//    `g + wd * p` into one FMA in some places and not in others. Unfused, the
//    CPU twin, its vectorized v2 and the CUDA kernel (__fmul_rn / __fadd_rn)
//    agree bit for bit (tests/kernels/elementwise_versions_test.cpp checks it).
// Options are assumed checked (check_sgd_options, in kernels/shapes.cpp).
#include "kernels/cpu/elementwise_versions.h"

namespace cudp::cpu {

void sgd_step_v1(const Context& /*ctx*/, int64_t n, float* params, const float* grads,
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

void sgd_step(const Context& ctx, int64_t n, float* params, const float* grads,
              float* momentum_buffer, const SgdOptions& options, bool first_step) {
  sgd_step_v2(ctx, n, params, grads, momentum_buffer, options, first_step);
}

}  // namespace cudp::cpu
