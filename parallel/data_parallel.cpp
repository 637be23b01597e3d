// DataParallelTrainer::step (see data_parallel.h), phase by phase.
//
// Who waits for whom: the output device's compute stream waits for each
// replica's forward and pulls its logits, then computes the loss; each
// replica's compute stream waits for the loss and pulls its dlogits. These
// copies are a few hundred bytes that the next kernel needs at once, so they
// run on the compute streams: a copy stream would add a thread hop (on a CPU
// device, a worker to wake) and overlap nothing. The host waits once, for the
// loss, before queueing SGD: as in the one-device Trainer, a NaN loss or a bad
// label never reaches the parameters.
#include "parallel/data_parallel.h"

#include "kernels/axpy.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

DataParallelTrainer::DataParallelTrainer(DeviceGroup& group, const NetFactory& factory,
                                         SgdOptions sgd, ParallelOptions options,
                                         CrossEntropyOptions loss)
    : ParallelTrainer(group, factory, options, loss),
      sgd_(group[0].device, replicas_[0]->net().param_count(), sgd),
      loss_(group[options.output_rank].device, loss),
      loss_ready_(group[options.output_rank].device) {
  if (options.check_replicas)
    fail(
        "--check-replicas: needs --parallel ddp (DataParallel keeps one set of parameters, "
        "on the first device)");
}

StepStats DataParallelTrainer::step(const float* host_x, const int32_t* host_y, int64_t B) {
  return guarded([&] { return run_step(host_x, host_y, B); });
}

void DataParallelTrainer::replicate_for_evaluation() {
  std::vector<float*> buffers;
  for (auto& replica : replicas_) buffers.push_back(replica->net().params());
  collectives_.broadcast(buffers, replicas_[0]->net().param_count(), 0);
}

StepStats DataParallelTrainer::run_step(const float* host_x, const int32_t* host_y, int64_t B) {
  const std::vector<Shard> shards = chunk_batch(B, group_.size());
  const int active = static_cast<int>(shards.size());
  const int64_t classes = replicas_[0]->classes();
  const int out_rank = options_.output_rank;
  LogicalDevice& out = group_[out_rank];
  begin_step(B, shards);
  if (B > capacity_) {
    logits_ = Buffer<float>(out.device, static_cast<std::size_t>(B * classes));
    dlogits_ = Buffer<float>(out.device, static_cast<std::size_t>(B * classes));
    labels_ = Buffer<int32_t>(out.device, static_cast<std::size_t>(B));
    capacity_ = B;
  }

  // scatter: every label to the output device, shards of x to the replicas;
  // each compute stream waits for its copy stream there (the labels included).
  out.copy.wait_for(out.compute);
  traced(tracer_, out.copy, out_rank, Lane::Copy, "copy", {B * 4, -1, out_rank, "scatter"}, [&] {
    copy_async(out.copy, labels_.data(), out.device, host_y, cpu_device(),
               static_cast<std::size_t>(B) * 4);
  });
  scatter(shards, host_x, nullptr);
  if (out_rank >= active) out.compute.wait_for(out.copy);  // an idle output device

  // replicate: rank 0's params to every active replica, bucket by bucket on the
  // copy streams (params_ready_[receiver]); each replica's forward of a layer
  // waits for its bucket only. A bucket cut into parts (parallel_trainer.h) is
  // sent by every rank's compute stream, part q by rank q (params_ready_[q]);
  // the group is idle here, so nothing orders it after other work.
  std::vector<float*> buffers;
  for (int r = 0; r < active; ++r) buffers.push_back(replicas_[r]->net().params());
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    const Replica::GradSlice bucket = buckets_[b];
    if (in_parts(bucket.count, active)) {
      for (int q = 0; q < active; ++q) {
        collectives_.broadcast_part(buffers, bucket.offset, bucket.count, q, "broadcast");
        group_[q].compute.record(params_ready_[q][b]);
      }
      continue;
    }
    collectives_.broadcast_bucket(buffers, bucket.offset, bucket.count);
    for (int r = 1; r < active; ++r) group_[r].copy.record(params_ready_[r][b]);
  }
  params_sent_ = active;
  for (int r = 0; r < active; ++r) {
    LogicalDevice& d = group_[r];
    replicas_[r]->forward(shards[r].size, tracer_, [&, r](std::size_t layer) {
      const int b = bucket_of_[layer];
      if (r == 0 || b < 0) return;
      if (!in_parts(buckets_[b].count, active)) return d.compute.wait(params_ready_[r][b]);
      for (int q = 0; q < active; ++q)
        if (q != r) d.compute.wait(params_ready_[q][b]);
    });
  }

  // gather: logits to the output device, in batch order.
  TimeMark gather_begin = out.compute.mark();
  for (int r = 0; r < active; ++r) {
    const int64_t bytes = shards[r].size * classes * 4;
    if (r != out_rank) out.compute.wait_for(group_[r].compute);
    traced(tracer_, out.compute, out_rank, Lane::Copy, "copy", {bytes, r, out_rank, "gather"}, [&] {
      copy_async(out.compute, logits_.data() + shards[r].offset * classes, out.device,
                 replicas_[r]->logits(), group_[r].device, static_cast<std::size_t>(bytes));
    });
  }
  TimeMark gather_end = out.compute.mark();
  if (tracer_) tracer_->span(out_rank, Lane::Compute, "gather", gather_begin, gather_end);
  clock_.add(gather_begin, gather_end);

  // loss: mean over the whole batch, fused with dL/dlogits.
  const Context out_ctx = out.context();
  traced(tracer_, out.compute, out_rank, Lane::Compute, "loss", {}, [&] {
    CrossEntropyLoss* loss = &loss_;
    const float* logits = logits_.data();
    const int32_t* labels = labels_.data();
    float* dlogits = dlogits_.data();
    out.compute.enqueue([=] { loss->compute(out_ctx, B, classes, logits, labels, dlogits); });
  });
  out.compute.record(loss_ready_);

  // scatter_grad: each replica pulls its rows of dlogits, then runs backward.
  for (int r = 0; r < active; ++r) {
    LogicalDevice& d = group_[r];
    const int64_t bytes = shards[r].size * classes * 4;
    TimeMark begin = d.compute.mark();
    if (r != out_rank) d.compute.wait(loss_ready_);
    traced(tracer_, d.compute, r, Lane::Copy, "copy", {bytes, out_rank, r, "scatter_grad"}, [&] {
      copy_async(d.compute, replicas_[r]->dlogits(), d.device,
                 dlogits_.data() + shards[r].offset * classes, out.device,
                 static_cast<std::size_t>(bytes));
    });
    TimeMark end = d.compute.mark();
    if (tracer_) tracer_->span(r, Lane::Compute, "scatter_grad", begin, end);
    if (r == 0) clock_.add(begin, end);
  }

  queue_backward(active, active);

  // The host checks the loss (and reads the logits for accuracy) before SGD.
  loss_ready_.synchronize();
  StepStats stats;
  stats.samples = B;
  host_logits_.resize(static_cast<std::size_t>(B * classes));
  download(out_ctx, host_logits_.data(), logits_.data(), out.device,
           host_logits_.size() * sizeof(float));
  stats.correct = correct_in(host_logits_.data(), host_y, B);
  stats.loss = loss_.value(out_ctx);
  check_loss(stats.loss);

  // reduce into rank 0 and SGD there, bucket by bucket, while backward goes on.
  reduce_and_step(active, false, [this](int r) { return r == 0 ? &sgd_ : nullptr; });
  finish_step();
  return stats;
}

}  // namespace cudp
