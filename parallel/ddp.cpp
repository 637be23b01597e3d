// DistributedTrainer (see ddp.h), phase by phase.
//
// The weighting: PyTorch's DDP averages gradients over processes, which is the
// batch mean only when every shard has the same number of counted targets.
// Here each replica's loss is a SUM over its shard divided by the count over
// the whole batch (known on the host from the labels), so 9 samples over 4
// devices (3,3,3,0) give the one-device gradient exactly in real arithmetic.
#include "parallel/ddp.h"

#include <cstring>

#include "kernels/axpy.h"
#include "kernels/finite.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

DistributedTrainer::DistributedTrainer(DeviceGroup& group, const NetFactory& factory,
                                       SgdOptions sgd, ParallelOptions options,
                                       CrossEntropyOptions loss)
    : replicas_(group, factory, options.plan, loss, options.tracer),
      group_(group),
      check_replicas_(options.check_replicas) {
  if (options.output_rank != 0)
    fail_parameter("output_device",
                   "needs dp (DDP computes each replica's loss on its own device)");
  CrossEntropyOptions sum = loss;
  sum.reduction = Reduction::Sum;
  for (int r = 0; r < group.size(); ++r) {
    sgds_.push_back(std::make_unique<Sgd>(group[r].device, replicas_.net(r).param_count(), sgd));
    losses_.push_back(std::make_unique<CrossEntropyLoss>(group[r].device, sum));
    loss_ready_.emplace_back(group[r].device);
    weights_.emplace_back(group[r].device, 1);
    flag_ready_.emplace_back(group[r].device);
  }
  loss_values_ = Buffer<float>(group[0].device, static_cast<std::size_t>(group.size()));
  bad_rows_ = Buffer<int32_t>(group[0].device, static_cast<std::size_t>(group.size()));
  if (options.cuda_graph) {
    graph_ = std::make_unique<StepGraph>(group);
    graph_->set_event_refresh([this] { replicas_.comm().refresh_scratch_events(); });
  }
}

StepStats DistributedTrainer::step(const float* host_x, const int32_t* host_y, int64_t B) {
  return replicas_.guarded([&] { return run_step(host_x, host_y, B); });
}

EvalStats DistributedTrainer::evaluate(const Dataset& data, int64_t batch) {
  if (graph_) graph_->reset();  // evaluation may reallocate the step's buffers
  return replicas_.evaluate(data, batch, [&] { broadcast(); });
}

void DistributedTrainer::restored(int64_t steps) {
  replicas_.set_steps(steps);
  group_.drain();
  broadcast_done_ = false;  // rank 0's loaded params go out at the next step
  if (graph_) graph_->reset();  // which is eager: the broadcast is not in the graph
  Sgd& root = *sgds_[0];
  const std::size_t n = static_cast<std::size_t>(replicas_.net(0).param_count());
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
  const StepGraph::Mode mode = graph_ ? graph_->plan(B) : StepGraph::Mode::Eager;
  if (mode != StepGraph::Mode::Eager) return graph_step(host_x, host_y, B, mode);
  const int ranks = group_.size();
  const std::vector<Shard> shards = replicas_.shards(B);  // this process's (all, alone)
  const int active = static_cast<int>(shards.size());
  replicas_.begin_step(B, shards);
  int64_t counted = 0;
  for (int64_t i = 0; i < B; ++i) counted += host_y[i] != replicas_.loss_options().ignore_index;
  write_scalars(counted);  // the group is idle here: before the broadcast is queued
  broadcast();
  replicas_.scatter(shards, host_x, host_y);
  for (int r = 0; r < active; ++r) forward_and_loss(r, shards[r].size);
  check_loss_on_devices(active);
  for (int r = 0; r < ranks; ++r) backward(r, active);
  replicas_.host_span("enqueue");  // the forward and backward
  const StepStats stats = check_loss(shards, host_y, B, counted);
  replicas_.host_span("wait/loss");
  queue_update();
  replicas_.finish_step();
  if (check_replicas_) check_replicas();
  return stats;
}

// The all-reduce of every bucket and every replica's SGD, each after its skip flag.
void DistributedTrainer::queue_update() {
  std::vector<Event*> scalars_ready;
  for (Event& e : flag_ready_) scalars_ready.push_back(&e);
  replicas_.update(
      group_.size(), Collective::AllReduce,
      [this](int r) { return sgds_[static_cast<std::size_t>(r)].get(); },
      /*after_sent=*/false, scalars_ready);
}

// The step as one CUDA graph (parallel/step_graph.h): the batch and the scalars
// (lr, first step, the loss weight) go in before the replay; forward, loss, the
// device's divergence check, backward, all-reduce and SGD run in it; the host
// reads the losses afterwards. The broadcast is never in it: the warm-up step
// (eager) did it, and a resume drops the graph. Unverified on silicon.
StepStats DistributedTrainer::graph_step(const float* host_x, const int32_t* host_y, int64_t B,
                                         StepGraph::Mode mode) {
  const int ranks = group_.size();
  const std::vector<Shard> shards = replicas_.shards(B);
  const int active = static_cast<int>(shards.size());
  replicas_.begin_step(B, shards);
  int64_t counted = 0;
  for (int64_t i = 0; i < B; ++i) counted += host_y[i] != replicas_.loss_options().ignore_index;
  write_scalars(counted);
  broadcast();  // done already (the eager warm-up): a no-op
  replicas_.scatter(shards, host_x, host_y);
  if (mode == StepGraph::Mode::Capture) {
    try {
      replicas_.untimed([&] {
        graph_->begin_capture();
        for (int r = 0; r < active; ++r) forward_and_loss(r, shards[r].size);
        check_loss_on_devices(active);
        for (int r = 0; r < ranks; ++r) backward(r, active);
        queue_update();
        graph_->end_capture();
      });
    } catch (...) {
      graph_->reset();  // ends the capture, so that the streams can be drained
      throw;
    }
  }
  graph_->launch();
  replicas_.host_span("graph replay", kDdpGraphReplayPhases);
  replicas_.finish_step();
  const StepStats stats = check_loss(shards, host_y, B, counted, /*synchronized=*/true);
  if (sgds_[0]->skipped(group_[0].context()))
    fail("training diverged: the device found a loss that is not finite at step ",
         replicas_.steps(), " (try a smaller learning rate)");
  // update() counted the step while capturing; a replay counts it once it has passed the
  // checks, so that a refused step leaves the count as an eager one does.
  if (mode == StepGraph::Mode::Replay)
    for (auto& sgd : sgds_) sgd->end_step();
  if (check_replicas_) check_replicas();
  return stats;
}

// Rank 0's params to every replica, the whole buffer as one bucket, once (the
// span "broadcast" on every compute lane).
void DistributedTrainer::broadcast() {
  if (broadcast_done_) return;
  const int ranks = group_.size();
  Tracer* tracer = replicas_.tracer();
  std::vector<TimeMark> begin(static_cast<std::size_t>(ranks));
  if (tracer)
    for (int r = 0; r < ranks; ++r) begin[r] = group_[r].compute.mark();
  const Bucket& whole = replicas_.plan().whole();
  replicas_.comm().broadcast(whole, replicas_.params(ranks));
  replicas_.comm().finish(whole, ranks);
  if (tracer)
    for (int r = 0; r < ranks; ++r)
      tracer->span(r, Lane::Compute, "broadcast", begin[r], group_[r].compute.mark());
  broadcast_done_ = true;
}

// The step's values into each rank's memory (model/sgd.h): lr and the first-step
// flag of its SGD, the skip flag cleared, and the loss weight 1 / counted (inf
// when every target is ignored: the loss is then NaN, as on the host).
void DistributedTrainer::write_scalars(int64_t counted) {
  const float weight = 1.0f / static_cast<float>(counted);
  for (int r = 0; r < group_.size(); ++r) {
    const Context ctx = group_[r].context();
    sgds_[r]->begin_step(ctx);
    upload(ctx, weights_[r].data(), ctx.device, &weight, sizeof(weight));
  }
}

// The divergence check on the devices: every active replica's loss sum (and its
// first bad target row) into rank 0, checked there with the weight (kernels/finite.h) into rank 0's skip flag,
// which every other rank's SGD then copies: one decision for all replicas, as the
// host's (a sum over them). flag_ready_[r]: rank r's flag is final.
// On the copy streams, queued right after the losses and before any bucket's
// all-reduce: the compute streams go on with backward, and an SGD piece waits
// for nothing but the losses, long done when its bucket is reduced.
void DistributedTrainer::check_loss_on_devices(int active) {
  LogicalDevice& root = group_[0];
  for (int r = 0; r < active; ++r) {
    root.copy.wait(loss_ready_[r]);
    copy_async(root.copy, loss_values_.data() + r, root.device, losses_[r]->device_value(),
               group_[r].device, sizeof(float));
    copy_async(root.copy, bad_rows_.data() + r, root.device, losses_[r]->device_first_bad_row(),
               group_[r].device, sizeof(int32_t));
  }
  const Context ctx = root.copy.context();
  const float* values = loss_values_.data();
  const int32_t* bad_rows = bad_rows_.data();
  const float* weight = weights_[0].data();
  int32_t* flag = sgds_[0]->skip_flag();
  root.copy.enqueue([=] {
    mark_not_finite(ctx, active, values, weight, flag);
    mark_bad_rows(ctx, active, bad_rows, flag);  // a target out of range: the host's other error
  });
  root.copy.record(flag_ready_[0]);
  for (int r = 1; r < group_.size(); ++r) {
    LogicalDevice& d = group_[r];
    d.copy.wait(flag_ready_[0]);
    copy_async(d.copy, sgds_[r]->skip_flag(), d.device, flag, root.device, sizeof(int32_t));
    d.copy.record(flag_ready_[r]);
  }
}

void DistributedTrainer::forward_and_loss(int r, int64_t n) {
  LogicalDevice& d = group_[r];
  const Context ctx = d.context();
  const int64_t classes = replicas_.classes();
  replicas_.forward(r, n);
  traced(replicas_.tracer(), &replicas_.clock(), d.compute, r, Lane::Compute, "loss", {}, [&] {
    CrossEntropyLoss* loss = losses_[r].get();
    const float* logits = replicas_.logits(r);
    const int32_t* labels = replicas_.y(r);
    float* dlogits = replicas_.dlogits(r);
    const float* weight = weights_[r].data();  // read when it runs (a graph replays it)
    d.compute.enqueue([=] {
      loss->compute(ctx, n, classes, logits, labels, dlogits);
      scale_by(ctx, n * classes, weight, dlogits);
    });
  });
  d.compute.record(loss_ready_[r]);
}

// An active replica's backward fires each bucket's hook as its layer is done;
// an idle one contributes zeros to the all-reduce, every bucket ready at once.
void DistributedTrainer::backward(int r, int active) {
  if (r < active) return replicas_.backward(r);
  LogicalDevice& d = group_[r];
  const Context ctx = d.context();
  float* grads = replicas_.net(r).grads();
  const auto bytes = static_cast<std::size_t>(replicas_.net(r).param_count()) * 4;
  d.compute.enqueue([=] { fill_bytes(ctx, grads, 0, bytes); });
  replicas_.record_ready(r);
}

// The host checks the loss (sum over replicas / count) before any SGD is queued.
StepStats DistributedTrainer::check_loss(const std::vector<Shard>& shards, const int32_t* host_y,
                                         int64_t B, int64_t counted, bool synchronized) {
  StepStats stats;
  stats.samples = B;
  const int64_t classes = replicas_.classes();
  std::vector<double> mine;  // per shard: correct, loss
  for (int r = 0; r < static_cast<int>(shards.size()); ++r) {
    // After a graph replay the group is idle, and the event was last recorded while
    // capturing: CUDA refuses to wait on such an event (cudaErrorCapturedEvent).
    if (!synchronized) loss_ready_[r].synchronize();
    const Context ctx = group_[r].context();
    host_logits_.resize(static_cast<std::size_t>(shards[r].size * classes));
    download(ctx, host_logits_.data(), replicas_.logits(r), ctx.device,
             host_logits_.size() * sizeof(float));
    mine.push_back(static_cast<double>(
        count_correct(host_logits_.data(), host_y + shards[r].offset, shards[r].size, classes)));
    try {
      mine.push_back(losses_[r]->value(ctx));
    } catch (const Error& e) {  // the kernel counts rows within the shard
      fail(e.what(), " (in ", group_[r].name(), "'s shard, which starts at batch row ",
           shards[r].offset, ")");
    }
  }
  // Every process's shards in global order: the same total everywhere, so every
  // process takes the same decision on a diverged loss.
  const std::vector<double> all = replicas_.gather_shards(mine);
  double total = 0;
  for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
    stats.correct += static_cast<int64_t>(all[i]);
    total += all[i + 1];
  }
  stats.loss = static_cast<float>(total / static_cast<double>(counted));
  replicas_.count_step(stats.loss);
  return stats;
}

void DistributedTrainer::check_replicas() {
  group_.synchronize();
  const Sequential& first = replicas_.net(0);
  const auto n = static_cast<std::size_t>(first.param_count());
  auto host_params = [&](int r) {
    std::vector<float> values(n);
    const Context ctx = group_[r].context();
    download(ctx, values.data(), replicas_.net(r).params(), ctx.device, n * sizeof(float));
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
      fail_parameter("check_replicas", "after step ", replicas_.steps(), ", ", group_[r].name(),
                     " differs from rank 0 at ", where, ": ", values[i], " vs ", reference[i]);
    }
  }
  if (!group_.spans_processes()) return;
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over the bytes of rank 0's params
  const auto* bytes = reinterpret_cast<const unsigned char*>(reference.data());
  for (std::size_t i = 0; i < n * sizeof(float); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  const std::vector<std::string> all = group_.processes().all_gather(std::to_string(hash));
  for (std::size_t p = 1; p < all.size(); ++p)
    if (all[p] != all[0])
      fail_parameter("check_replicas", "after step ", replicas_.steps(), ", process ", p,
                     "'s parameters differ from process 0's (hash ", all[p], " vs ", all[0], ")");
}

}  // namespace cudp
