// DataParallelTrainer (see data_parallel.h), phase by phase.
//
// Who waits for whom: the output device's compute stream waits for each
// replica's forward and pulls its logits, then computes the loss; each
// replica's compute stream waits for the loss and pulls its dlogits. These
// copies are a few hundred bytes that the next kernel needs at once, so they
// run on the compute streams (drawn on the copy lane, phases gather and
// scatter_grad): a copy stream would add a thread hop and overlap nothing.
#include "parallel/data_parallel.h"

#include "kernels/finite.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

namespace {
int checked_output_rank(int rank, const DeviceGroup& group) {
  if (rank < 0 || rank >= group.size())
    fail_parameter("output_device", "rank ", rank, " is not among the ", group.size(), " devices");
  return rank;
}
}  // namespace

DataParallelTrainer::DataParallelTrainer(DeviceGroup& group, const NetFactory& factory,
                                         SgdOptions sgd, ParallelOptions options,
                                         CrossEntropyOptions loss)
    : replicas_(group, factory, options.plan, loss, options.tracer),
      group_(group),
      out_rank_(checked_output_rank(options.output_rank, group)),
      sgd_(group[0].device, replicas_.net(0).param_count(), sgd),
      loss_(group[out_rank_].device, loss),
      loss_ready_(group[out_rank_].device),
      out_flag_(group[out_rank_].device, 1) {
  if (options.check_replicas)
    fail_parameter("check_replicas",
                   "needs ddp (DataParallel keeps one set of parameters, on the first device)");
  if (options.cuda_graph) {
    graph_ = std::make_unique<StepGraph>(group);
    graph_->set_event_refresh([this] { replicas_.comm().refresh_scratch_events(); });
  }
}

StepStats DataParallelTrainer::step(const float* host_x, const int32_t* host_y, int64_t B) {
  return replicas_.guarded([&] { return run_step(host_x, host_y, B); });
}

EvalStats DataParallelTrainer::evaluate(const Dataset& data, int64_t batch) {
  if (graph_) graph_->reset();  // evaluation may reallocate the step's buffers
  return replicas_.evaluate(data, batch, [&] {
    const Bucket& whole = replicas_.plan().whole();
    replicas_.comm().broadcast(whole, replicas_.params(group_.size()));
    replicas_.comm().finish(whole, group_.size());
  });
}

StepStats DataParallelTrainer::run_step(const float* host_x, const int32_t* host_y, int64_t B) {
  const StepGraph::Mode mode = graph_ ? graph_->plan(B) : StepGraph::Mode::Eager;
  if (mode != StepGraph::Mode::Eager) return graph_step(host_x, host_y, B, mode);
  const std::vector<Shard> shards = chunk_batch(B, group_.size());
  const int active = static_cast<int>(shards.size());
  replicas_.begin_step(B, shards);
  write_scalars();  // the group is idle here
  scatter(shards, host_x, host_y);
  queue_step(shards);
  replicas_.host_span("enqueue");  // the forward and backward
  const StepStats stats = check_loss(host_y, B);
  replicas_.host_span("wait/loss");
  replicas_.update(
      active, Collective::Reduce, [this](int r) { return r == 0 ? &sgd_ : nullptr; },
      /*after_sent=*/true, {&loss_ready_});
  replicas_.finish_step();
  return stats;
}

// The step's lr and first-step flag into rank 0's memory, the skip flags cleared.
void DataParallelTrainer::write_scalars() {
  sgd_.begin_step(group_[0].context());
  if (out_rank_ == 0) return;
  const int32_t clear = 0;
  upload(group_[out_rank_].context(), out_flag_.data(), group_[out_rank_].device, &clear,
         sizeof(clear));
}

void DataParallelTrainer::queue_step(const std::vector<Shard>& shards) {
  const int active = static_cast<int>(shards.size());
  replicate(active);
  parallel_apply(shards);
  gather(shards);
  loss(shards.back().offset + shards.back().size);
  scatter_grad(shards);
  for (int r = 0; r < active; ++r) replicas_.backward(r);
}

// The step as one CUDA graph (parallel/step_graph.h): the batch and the scalars
// go in before the replay, every phase and the SGD run in it, and the host reads
// the loss afterwards. A non-finite loss never reaches the parameters: the SGD
// kernel read the device's skip flag. Unverified on silicon.
StepStats DataParallelTrainer::graph_step(const float* host_x, const int32_t* host_y, int64_t B,
                                          StepGraph::Mode mode) {
  const std::vector<Shard> shards = chunk_batch(B, group_.size());
  const int active = static_cast<int>(shards.size());
  replicas_.begin_step(B, shards);
  write_scalars();
  scatter(shards, host_x, host_y);
  if (mode == StepGraph::Mode::Capture) {
    try {
      replicas_.untimed([&] {
        graph_->begin_capture();
        queue_step(shards);
        replicas_.update(
            active, Collective::Reduce, [this](int r) { return r == 0 ? &sgd_ : nullptr; },
            /*after_sent=*/true, {&loss_ready_});
        graph_->end_capture();
      });
    } catch (...) {
      graph_->reset();  // ends the capture, so that the streams can be drained
      throw;
    }
  }
  graph_->launch();
  replicas_.host_span("graph replay", kGraphReplayPhases);
  replicas_.finish_step();
  const StepStats stats = check_loss(host_y, B, /*synchronized=*/true);  // "training diverged"
  if (sgd_.skipped(group_[0].context()))
    fail("training diverged: the device found a loss that is not finite at step ",
         replicas_.steps(), " (try a smaller learning rate)");
  // update() counted the step while capturing; a replay counts it once it has passed the
  // checks, so that a refused step leaves the count as an eager one does.
  if (mode == StepGraph::Mode::Replay) sgd_.end_step();
  return stats;
}

// Every label to the output device, shards of x to the replicas; each compute
// stream waits for its copy stream there (the labels included).
void DataParallelTrainer::scatter(const std::vector<Shard>& shards, const float* host_x,
                                  const int32_t* host_y) {
  const int64_t B = shards.back().offset + shards.back().size;
  LogicalDevice& out = group_[out_rank_];
  if (B > capacity_) {
    const auto classes = static_cast<std::size_t>(replicas_.classes());
    logits_ = Buffer<float>(out.device, static_cast<std::size_t>(B) * classes);
    dlogits_ = Buffer<float>(out.device, static_cast<std::size_t>(B) * classes);
    labels_ = Buffer<int32_t>(out.device, static_cast<std::size_t>(B));
    capacity_ = B;
  }
  Tracer* tracer = replicas_.tracer();
  out.copy.wait_for(out.compute);
  CommClock* clock = &replicas_.clock();
  traced(tracer, clock, out.copy, out_rank_, Lane::Copy, "copy", {B * 4, -1, out_rank_, "scatter"},
         [&] {
    copy_async(out.copy, labels_.data(), out.device, host_y, cpu_device(),
               static_cast<std::size_t>(B) * 4);
  });
  replicas_.scatter(shards, host_x, nullptr);
  if (out_rank_ >= static_cast<int>(shards.size()))
    out.compute.wait_for(out.copy);  // an idle output device
}

// Rank 0's params to every active replica, bucket by bucket (the trace phase
// "broadcast"); each replica's forward of a layer waits for its bucket only.
void DataParallelTrainer::replicate(int active) {
  const std::vector<float*> params = replicas_.params(active);
  for (const Bucket& bucket : replicas_.plan().buckets())
    replicas_.comm().broadcast(bucket, params);
}

void DataParallelTrainer::parallel_apply(const std::vector<Shard>& shards) {
  const BucketPlan& plan = replicas_.plan();
  for (int r = 0; r < static_cast<int>(shards.size()); ++r) {
    Stream& compute = group_[r].compute;
    replicas_.forward(r, shards[r].size, [&, r](std::size_t layer) {
      for (const int b : plan.buckets_of_layer(layer))
        replicas_.comm().await_arrival(plan.buckets()[b], r, compute);
    });
  }
}

// The logits to the output device, in batch order.
void DataParallelTrainer::gather(const std::vector<Shard>& shards) {
  LogicalDevice& out = group_[out_rank_];
  const int64_t classes = replicas_.classes();
  Tracer* tracer = replicas_.tracer();
  TimeMark begin;
  if (tracer) begin = out.compute.mark();
  for (int r = 0; r < static_cast<int>(shards.size()); ++r) {
    const int64_t bytes = shards[r].size * classes * 4;
    if (r != out_rank_) out.compute.wait_for(group_[r].compute);
    traced(tracer, &replicas_.clock(), out.compute, out_rank_, Lane::Compute, "copy",
           {bytes, r, out_rank_, "gather"}, [&] {
             copy_async(out.compute, logits_.data() + shards[r].offset * classes, out.device,
                        replicas_.logits(r), group_[r].device, static_cast<std::size_t>(bytes));
           });
  }
  if (tracer) tracer->span(out_rank_, Lane::Compute, "gather", begin, out.compute.mark());
}

// The mean over the whole batch, fused with dL/dlogits.
void DataParallelTrainer::loss(int64_t B) {
  LogicalDevice& out = group_[out_rank_];
  const Context ctx = out.context();
  const int64_t classes = replicas_.classes();
  traced(replicas_.tracer(), &replicas_.clock(), out.compute, out_rank_, Lane::Compute, "loss", {},
         [&] {
    CrossEntropyLoss* loss = &loss_;
    const float* logits = logits_.data();
    const int32_t* labels = labels_.data();
    float* dlogits = dlogits_.data();
    out.compute.enqueue([=] { loss->compute(ctx, B, classes, logits, labels, dlogits); });
  });
  // The divergence check on the device, into the SGD's skip flag on rank 0
  // (through the output device's own flag when that is another device).
  int32_t* flag = out_rank_ == 0 ? sgd_.skip_flag() : out_flag_.data();
  const float* value = loss_.device_value();
  const int32_t* bad_row = loss_.device_first_bad_row();
  out.compute.enqueue([=] {
    mark_not_finite(ctx, 1, value, nullptr, flag);
    mark_bad_rows(ctx, 1, bad_row, flag);  // a target out of range: the host's other error
  });
  if (out_rank_ != 0)
    copy_async(out.compute, sgd_.skip_flag(), group_[0].device, flag, out.device,
               sizeof(int32_t));
  out.compute.record(loss_ready_);  // rank 0's SGD waits for it (update)
}

// Each replica pulls its rows of dlogits (then runs backward).
void DataParallelTrainer::scatter_grad(const std::vector<Shard>& shards) {
  LogicalDevice& out = group_[out_rank_];
  const int64_t classes = replicas_.classes();
  Tracer* tracer = replicas_.tracer();
  for (int r = 0; r < static_cast<int>(shards.size()); ++r) {
    LogicalDevice& d = group_[r];
    const int64_t bytes = shards[r].size * classes * 4;
    TimeMark begin;
    if (tracer) begin = d.compute.mark();
    if (r != out_rank_) d.compute.wait(loss_ready_);
    traced(tracer, &replicas_.clock(), d.compute, r, Lane::Compute, "copy",
           {bytes, out_rank_, r, "scatter_grad"}, [&] {
      copy_async(d.compute, replicas_.dlogits(r), d.device,
                 dlogits_.data() + shards[r].offset * classes, out.device,
                 static_cast<std::size_t>(bytes));
    });
    if (tracer) tracer->span(r, Lane::Compute, "scatter_grad", begin, d.compute.mark());
  }
}

// The host reads the loss and the logits (for accuracy) before any SGD is queued.
StepStats DataParallelTrainer::check_loss(const int32_t* host_y, int64_t B, bool synchronized) {
  LogicalDevice& out = group_[out_rank_];
  const Context ctx = out.context();
  const int64_t classes = replicas_.classes();
  // After a graph replay the group is idle, and loss_ready_ was last recorded
  // while capturing: CUDA refuses to wait on such an event (cudaErrorCapturedEvent).
  if (!synchronized) loss_ready_.synchronize();
  StepStats stats;
  stats.samples = B;
  host_logits_.resize(static_cast<std::size_t>(B * classes));
  download(ctx, host_logits_.data(), logits_.data(), out.device,
           host_logits_.size() * sizeof(float));
  stats.correct = count_correct(host_logits_.data(), host_y, B, classes);
  stats.loss = loss_.value(ctx);
  replicas_.count_step(stats.loss);
  return stats;
}

}  // namespace cudp
