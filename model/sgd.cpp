// Sgd (see sgd.h): the bookkeeping around kernels/sgd.h's update.
//
// The momentum buffer is allocated here but not cleared: the first step
// (steps_ == 0) overwrites it with the gradient, as PyTorch clones it.
#include "model/sgd.h"

#include "runtime/error.h"

namespace cudp {

Sgd::Sgd(Device device, int64_t n, SgdOptions options) : options_(options), n_(n) {
  check_sgd_options(options_);
  if (n_ < 0) fail("SGD: expected a non-negative parameter count, found ", n_);
  if (options_.momentum != 0.0f) momentum_ = Buffer<float>(device, static_cast<std::size_t>(n_));
}

void Sgd::step(const Context& ctx, float* params, const float* grads) {
  sgd_step(ctx, n_, params, grads, momentum_buffer(), options_, steps_ == 0);
  ++steps_;
}

}  // namespace cudp
