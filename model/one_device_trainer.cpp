// See one_device_trainer.h; count_correct and check_finite_loss (trainer.h).
//
// Accuracy needs the argmax of every row: the logits ([N, classes], a few
// hundred bytes) come back to the host for it, in the same synchronisation
// that brings back the loss.
#include "model/one_device_trainer.h"

#include <cmath>
#include <cstring>

#include "kernels/finite.h"
#include "runtime/error.h"

namespace cudp {

int64_t count_correct(const float* host_logits, const int32_t* host_y, int64_t n, int64_t classes) {
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = host_logits + i * classes;
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;  // first maximum, as torch.argmax
    correct += best == host_y[i];
  }
  return correct;
}

void check_finite_loss(float loss, int64_t step) {
  if (!std::isfinite(loss))
    fail("training diverged: the loss is ", loss, " at step ", step,
         " (try a smaller learning rate)");
}

OneDeviceTrainer::OneDeviceTrainer(Sequential& net, const Context& ctx, SgdOptions sgd,
                                   CrossEntropyOptions loss)
    : net_(net), ctx_(ctx), sgd_(ctx.device, net.param_count(), sgd), loss_(ctx.device, loss) {
  CUDP_ASSERT(ctx.device == net.device());
}

void OneDeviceTrainer::upload(const float* host_x, const int32_t* host_y, int64_t N) {
  const int64_t sample = shape_numel(net_.input_shape());
  if (N > capacity_) {
    x_ = Buffer<float>(ctx_.device, static_cast<size_t>(N * sample));
    y_ = Buffer<int32_t>(ctx_.device, static_cast<size_t>(N));
    dlogits_ = Buffer<float>(ctx_.device, static_cast<size_t>(N * net_.classes()));
    capacity_ = N;
  }
  copy_bytes(ctx_, x_.data(), ctx_.device, host_x, cpu_device(), N * sample * sizeof(float));
  copy_bytes(ctx_, y_.data(), ctx_.device, host_y, cpu_device(), N * sizeof(int32_t));
  host_labels_.assign(host_y, host_y + N);
}

int64_t OneDeviceTrainer::correct_of(const float* logits, int64_t N) {
  const int64_t classes = net_.classes();
  host_logits_.resize(static_cast<size_t>(N * classes));
  download(ctx_, host_logits_.data(), logits, ctx_.device, host_logits_.size() * sizeof(float));
  return count_correct(host_logits_.data(), host_labels_.data(), N, classes);
}

StepStats OneDeviceTrainer::step(const float* host_x, const int32_t* host_y, int64_t N) {
  CUDP_ASSERT(N >= 1);
  upload(host_x, host_y, N);
  sgd_.begin_step(ctx_);  // this step's lr and first-step flag, into the device's memory
  const float* logits = net_.forward(ctx_, N, x_.data());
  loss_.compute(ctx_, N, net_.classes(), logits, y_.data(), dlogits_.data());
  mark_not_finite(ctx_, 1, loss_.device_value(), nullptr, sgd_.skip_flag());
  mark_bad_rows(ctx_, 1, loss_.device_first_bad_row(), sgd_.skip_flag());
  net_.backward(ctx_, dlogits_.data());
  StepStats stats;
  stats.samples = N;
  stats.correct = correct_of(logits, N);
  // The loss is checked before the update: a bad label or a NaN never reaches the parameters.
  // The device checked it too (the skip flag): the SGD kernel would not apply it either.
  stats.loss = loss_.value(ctx_);
  check_finite_loss(stats.loss, ++steps_);
  sgd_.apply(ctx_, net_.params(), net_.grads(), 0, net_.param_count());
  sgd_.end_step();
  return stats;
}

EvalStats OneDeviceTrainer::evaluate(const Dataset& data, int64_t batch) {
  EvalStats stats;
  const std::vector<int64_t> order = epoch_order(data.size(), 0, 0, false);
  std::vector<float> x(static_cast<size_t>(batch * data.sample_numel()));
  std::vector<int32_t> y(static_cast<size_t>(batch));
  for (int64_t first = 0; first < data.size(); first += batch) {
    const int64_t n = std::min(batch, data.size() - first);
    gather_batch(data, order, first, n, x.data(), y.data());
    upload(x.data(), y.data(), n);
    const float* logits = net_.forward(ctx_, n, x_.data());
    loss_.compute(ctx_, n, net_.classes(), logits, y_.data(), nullptr);
    stats.correct += correct_of(logits, n);
    stats.loss += static_cast<double>(loss_.value(ctx_)) * n;
    stats.samples += n;
  }
  if (stats.samples) stats.loss /= stats.samples;
  return stats;
}

}  // namespace cudp
