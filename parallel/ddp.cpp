// DistributedTrainer::step (see ddp.h), phase by phase.
//
// The weighting: PyTorch's DDP averages gradients over processes, which is the
// batch mean only when every shard has the same number of counted targets.
// Here each replica's loss is a SUM over its shard divided by the count over
// the whole batch (known on the host from the labels), so 9 samples over 4
// devices (3,3,3,0) give the one-device gradient exactly in real arithmetic.
#include "parallel/ddp.h"

#include <cstring>

#include "kernels/axpy.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

DistributedTrainer::DistributedTrainer(DeviceGroup& group, const NetFactory& factory,
                                       SgdOptions sgd, ParallelOptions options,
                                       CrossEntropyOptions loss)
    : ParallelTrainer(group, factory, options, loss) {
  CrossEntropyOptions sum = loss;
  sum.reduction = Reduction::Sum;
  for (int r = 0; r < group.size(); ++r) {
    sgds_.push_back(std::make_unique<Sgd>(group[r].device, replicas_[r]->net().param_count(), sgd));
    losses_.push_back(std::make_unique<CrossEntropyLoss>(group[r].device, sum));
    loss_ready_.emplace_back(group[r].device);
  }
}

StepStats DistributedTrainer::step(const float* host_x, const int32_t* host_y, int64_t B) {
  return guarded([&] { return run_step(host_x, host_y, B); });
}

void DistributedTrainer::broadcast_once() {
  if (broadcast_done_) return;
  std::vector<float*> buffers;
  for (auto& replica : replicas_) buffers.push_back(replica->net().params());
  collectives_.broadcast(buffers, replicas_[0]->net().param_count(), 0);
  broadcast_done_ = true;
}

void DistributedTrainer::replicate_for_evaluation() { broadcast_once(); }

void DistributedTrainer::restored(int64_t steps) {
  ParallelTrainer::restored(steps);
  group_.drain();
  broadcast_done_ = false;  // rank 0's loaded params go out at the next step
  Sgd& root = *sgds_[0];
  const std::size_t n = static_cast<std::size_t>(replicas_[0]->net().param_count());
  std::vector<float> host(root.momentum_buffer() ? n : 0);
  if (!host.empty()) {  // through the host: once per resume, any pair of devices
    const Context ctx{group_[0].device};
    download(ctx, host.data(), root.momentum_buffer(), group_[0].device, n * 4);
  }
  for (int r = 1; r < group_.size(); ++r) {
    sgds_[r]->set_steps_taken(root.steps_taken());
    if (host.empty()) continue;
    const Context ctx{group_[r].device};
    upload(ctx, sgds_[r]->momentum_buffer(), group_[r].device, host.data(), n * 4);
  }
}

StepStats DistributedTrainer::run_step(const float* host_x, const int32_t* host_y, int64_t B) {
  const int ranks = group_.size();
  const std::vector<Shard> shards = chunk_batch(B, ranks);
  const int active = static_cast<int>(shards.size());
  const int64_t classes = replicas_[0]->classes();
  const int64_t params = replicas_[0]->net().param_count();
  begin_step(B, shards);

  broadcast_once();
  int64_t counted = 0;
  for (int64_t i = 0; i < B; ++i) counted += host_y[i] != loss_options_.ignore_index;
  const float weight = 1.0f / static_cast<float>(counted);  // inf when all ignored: NaN loss

  scatter(shards, host_x, host_y);
  for (int r = 0; r < ranks; ++r) {
    LogicalDevice& d = group_[r];
    const Context ctx = d.context();
    if (r >= active) {  // idle: contributes zero gradient to the all-reduce
      float* grads = replicas_[r]->net().grads();
      d.compute.enqueue([=] { fill_bytes(ctx, grads, 0, static_cast<std::size_t>(params) * 4); });
      continue;
    }
    Replica& replica = *replicas_[r];
    const int64_t n = shards[r].size;
    replica.forward(n, tracer_);
    traced(tracer_, d.compute, r, Lane::Compute, "loss", {}, [&] {
      CrossEntropyLoss* loss = losses_[r].get();
      const float* logits = replica.logits();
      const int32_t* labels = replica.y();
      float* dlogits = replica.dlogits();
      d.compute.enqueue([=] {
        loss->compute(ctx, n, classes, logits, labels, dlogits);
        scale(ctx, n * classes, weight, dlogits);
      });
    });
    d.compute.record(loss_ready_[r]);
  }
  queue_backward(active, ranks);

  // The host checks the loss (sum over replicas / count) before SGD.
  StepStats stats;
  stats.samples = B;
  double total = 0;
  for (int r = 0; r < active; ++r) {
    loss_ready_[r].synchronize();
    const Context ctx = group_[r].context();
    host_logits_.resize(static_cast<std::size_t>(shards[r].size * classes));
    download(ctx, host_logits_.data(), replicas_[r]->logits(), ctx.device,
             host_logits_.size() * sizeof(float));
    stats.correct += correct_in(host_logits_.data(), host_y + shards[r].offset, shards[r].size);
    try {
      total += losses_[r]->value(ctx);
    } catch (const Error& e) {  // the kernel counts rows within the shard
      fail(e.what(), " (in ", group_[r].name(), "'s shard, which starts at batch row ",
           shards[r].offset, ")");
    }
  }
  stats.loss = static_cast<float>(total / static_cast<double>(counted));
  check_loss(stats.loss);

  // all-reduce and SGD on every replica, bucket by bucket, while backward goes on.
  reduce_and_step(ranks, true, [this](int r) { return sgds_[static_cast<std::size_t>(r)].get(); });
  finish_step();
  if (options_.check_replicas) check_replicas();
  return stats;
}

void DistributedTrainer::check_replicas() {
  group_.synchronize();
  const Sequential& first = replicas_[0]->net();
  const auto n = static_cast<std::size_t>(first.param_count());
  auto host_params = [&](int r) {
    std::vector<float> values(n);
    const Context ctx = group_[r].context();
    download(ctx, values.data(), replicas_[r]->net().params(), ctx.device, n * sizeof(float));
    return values;
  };
  const std::vector<float> reference = host_params(0);
  for (int r = 1; r < group_.size(); ++r) {
    const std::vector<float> values = host_params(r);
    for (std::size_t i = 0; i < n; ++i) {
      if (std::memcmp(&values[i], &reference[i], sizeof(float)) == 0) continue;
      std::string where = concat("element ", i);
      for (const NamedParam& p : first.named_params())
        if (static_cast<int64_t>(i) >= p.offset && static_cast<int64_t>(i) < p.offset + p.numel())
          where += concat(" (", p.name, "[", static_cast<int64_t>(i) - p.offset, "])");
      fail("--check-replicas: after step ", steps_, ", ", group_[r].name(),
           " differs from rank 0 at ", where, ": ", values[i], " vs ", reference[i]);
    }
  }
}

}  // namespace cudp
