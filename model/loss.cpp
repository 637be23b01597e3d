// CrossEntropyLoss (see loss.h).
//
// The loss and the first bad row stay on the device until value(): a training
// step queues compute() and reads one float back only when it logs. The
// targets pointer given to compute() must stay valid until value(), which
// reads the offending label back from it to name it in the error.
#include "model/loss.h"

#include "runtime/error.h"

namespace cudp {

CrossEntropyLoss::CrossEntropyLoss(Device device, CrossEntropyOptions options)
    : options_(options), loss_(device, 1), first_bad_row_(device, 1) {}

void CrossEntropyLoss::compute(const Context& ctx, int64_t N, int64_t classes, const float* logits,
                               const int32_t* targets, float* dlogits) {
  if (ctx.device != loss_.device())
    fail("cross_entropy: the loss lives on ", loss_.device().str(), ", the context is on ",
         ctx.device.str());
  cross_entropy(ctx, N, classes, logits, targets, options_, loss_.data(), dlogits,
                first_bad_row_.data());
  targets_ = targets;
  classes_ = classes;
}

float CrossEntropyLoss::value(const Context& ctx) {
  if (!targets_) fail("cross_entropy: value() called before compute()");
  const Device host = cpu_device();
  float loss = 0.0f;
  int32_t bad_row = -1;
  copy_bytes(ctx, &loss, host, loss_.data(), loss_.device(), sizeof loss);
  // One wait for both: download waits for ctx's stream, the loss copy included.
  download(ctx, &bad_row, first_bad_row_.data(), first_bad_row_.device(), sizeof bad_row);
  if (bad_row >= 0) {
    int32_t target = 0;
    download(ctx, &target, targets_ + bad_row, loss_.device(), sizeof target);
    fail("cross_entropy: target ", target, " at row ", bad_row, " is out of range [0, ", classes_,
         ")");
  }
  return loss;
}

}  // namespace cudp
