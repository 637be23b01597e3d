// Sgd (see sgd.h): the bookkeeping around kernels/sgd.h's update.
//
// The momentum buffer is allocated here but not cleared: the first step
// (steps_ == 0) overwrites it with the gradient, as PyTorch clones it.
// The decision a reader would get wrong: the kernels take lr and the
// first-step flag from scalars_ in device memory, not from options_: a step
// whose begin_step was not called runs with the previous step's values.
#include "model/sgd.h"

#include "kernels/sgd.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

Sgd::Sgd(Device device, int64_t n, SgdOptions options)
    : options_(options), n_(n), device_(device), scalars_(device, 1) {
  check_sgd_options(options_);
  if (n_ < 0) fail("SGD: expected a non-negative parameter count, found ", n_);
  if (options_.momentum != 0.0f) momentum_ = Buffer<float>(device, static_cast<std::size_t>(n_));
}

void Sgd::begin_step(const Context& ctx) {
  SgdStepScalars now;
  now.lr = options_.lr;
  now.first_step = steps_ == 0 ? 1 : 0;
  now.skip = 0;
  upload(ctx, scalars_.data(), device_, &now, sizeof(now));
}

void Sgd::apply(const Context& ctx, float* params, const float* grads, int64_t offset,
                int64_t count) {
  CUDP_ASSERT(offset >= 0 && count >= 0 && offset + count <= n_);
  float* m = momentum_buffer() ? momentum_buffer() + offset : nullptr;
  sgd_step_from(ctx, count, params + offset, grads + offset, m, options_, scalars_.data());
}

void Sgd::step(const Context& ctx, float* params, const float* grads) {
  begin_step(ctx);
  apply(ctx, params, grads, 0, n_);
  end_step();
}

bool Sgd::skipped(const Context& ctx) {
  int32_t skip = 0;
  download(ctx, &skip, skip_flag(), device_, sizeof(skip));
  return skip != 0;
}

}  // namespace cudp
