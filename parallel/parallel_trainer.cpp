// What DataParallel and DDP steps share (see parallel_trainer.h): sharding, the
// scatter of a host batch, step bookkeeping, and evaluation.
//
// Evaluation shards each batch like a step and runs forward on the replicas;
// each replica computes its shard's mean loss, weighted by its shard size on the
// host, so one replica gives exactly the one-device Trainer's figures.
#include "parallel/parallel_trainer.h"

#include <cmath>

#include "kernels/sgd.h"
#include "parallel/data_parallel.h"
#include "parallel/ddp.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

ParallelMode parse_parallel_mode(const std::string& text) {
  if (text == "dp") return ParallelMode::DataParallel;
  if (text == "ddp") return ParallelMode::Distributed;
  fail("--parallel: expected dp or ddp, found '", text, "'");
}

const char* parallel_mode_name(ParallelMode mode) {
  return mode == ParallelMode::DataParallel ? "dp" : "ddp";
}

std::vector<Shard> chunk_batch(int64_t batch, int devices) {
  if (devices < 1) fail("chunk_batch: expected at least one device, found ", devices);
  std::vector<Shard> shards;
  const int64_t chunk = (batch + devices - 1) / devices;  // torch.chunk: ceil(B / N)
  for (int64_t offset = 0; offset < batch; offset += chunk)
    shards.push_back({offset, std::min(chunk, batch - offset)});
  return shards;
}

ParallelTrainer::ParallelTrainer(DeviceGroup& group, const NetFactory& factory,
                                 ParallelOptions options, CrossEntropyOptions loss)
    : group_(group),
      options_(options),
      loss_options_(loss),
      tracer_(options.tracer),
      collectives_(group, options.collectives, options.tracer, &clock_) {
  if (options.output_rank < 0 || options.output_rank >= group.size())
    fail("--output-device: rank ", options.output_rank, " is not among the ", group.size(),
         " devices");
  for (int r = 0; r < group.size(); ++r) {
    replicas_.push_back(
        std::make_unique<Replica>(group[r], factory(group[r].device, group[r].seed)));
    CrossEntropyOptions mean = loss;
    mean.reduction = Reduction::Mean;
    eval_losses_.push_back(std::make_unique<CrossEntropyLoss>(group[r].device, mean));
  }
  step_begin_.resize(static_cast<std::size_t>(group.size()));
  Replica& first = *replicas_[0];
  for (std::size_t layer = 0; layer < first.net().layers().size(); ++layer) {
    const Replica::GradSlice slice = first.grad_slice(layer);
    bucket_of_.push_back(slice.count > 0 ? static_cast<int>(buckets_.size()) : -1);
    if (slice.count > 0) buckets_.push_back(slice);
  }
  for (int r = 0; r < group.size(); ++r) {
    grads_ready_.emplace_back();
    params_ready_.emplace_back();
    reduced_.emplace_back();
    for (std::size_t b = 0; b < buckets_.size(); ++b) {
      grads_ready_.back().emplace_back(group[r].device);
      params_ready_.back().emplace_back(group[r].device);
      reduced_.back().emplace_back(group[r].device);
    }
  }
}

ParallelTrainer::~ParallelTrainer() { group_.drain(); }

Sequential& ParallelTrainer::replica_net(int rank) {
  return replicas_.at(static_cast<std::size_t>(rank))->net();
}

void ParallelTrainer::begin_step(int64_t B, const std::vector<Shard>& shards) {
  if (B < 1) fail("a training step needs at least one sample, found ", B);
  // The group is idle here: every step and evaluation ends synchronized.
  for (std::size_t r = 0; r < shards.size(); ++r) replicas_[r]->reserve(shards[r].size);
  if (tracer_)
    for (int r = 0; r < group_.size(); ++r) step_begin_[r] = group_[r].compute.mark();
}

void ParallelTrainer::scatter(const std::vector<Shard>& shards, const float* host_x,
                              const int32_t* host_y) {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const int r = static_cast<int>(i);
    LogicalDevice& d = group_[r];
    Replica& replica = *replicas_[i];
    const Shard s = shards[i];
    d.copy.wait_for(d.compute);  // x and y are not in use any more
    const int64_t x_bytes = s.size * replica.sample_numel() * 4;
    traced(tracer_, d.copy, r, Lane::Copy, "copy", {x_bytes, -1, r, "scatter"}, [&] {
      copy_async(d.copy, replica.x(), d.device, host_x + s.offset * replica.sample_numel(),
                 cpu_device(), static_cast<std::size_t>(x_bytes));
    });
    if (host_y) {
      traced(tracer_, d.copy, r, Lane::Copy, "copy", {s.size * 4, -1, r, "scatter"}, [&] {
        copy_async(d.copy, replica.y(), d.device, host_y + s.offset, cpu_device(),
                   static_cast<std::size_t>(s.size) * 4);
      });
    }
    traced(tracer_, d.compute, r, Lane::Compute, "scatter", {},
           [&] { d.compute.wait_for(d.copy); });
  }
}

void ParallelTrainer::finish_step() {
  if (tracer_)
    for (int r = 0; r < group_.size(); ++r)
      tracer_->span(r, Lane::Compute, "step", step_begin_[r], group_[r].compute.mark());
  group_.synchronize();
  if (tracer_) tracer_->flush();
  communication_ms_ = clock_.take_ms();
}

void ParallelTrainer::queue_backward(int active, int ranks) {
  for (std::size_t layer : replicas_[0]->backward_order()) {
    for (int r = 0; r < active; ++r) replicas_[r]->backward_layer(layer, tracer_);
    const int b = bucket_of_[layer];
    if (b < 0) continue;
    for (int r = 0; r < ranks; ++r) group_[r].compute.record(grads_ready_[r][b]);
  }
}

void ParallelTrainer::reduce_and_step(int ranks, bool all_reduce,
                                      const std::function<Sgd*(int)>& sgd_of) {
  std::vector<float*> grads;
  for (int r = 0; r < ranks; ++r) grads.push_back(replicas_[r]->net().grads());
  for (std::size_t layer : replicas_[0]->backward_order()) {
    const int b = bucket_of_[layer];
    if (b < 0) continue;
    const Replica::GradSlice slice = buckets_[b];
    std::vector<Event*> ready;
    for (int r = 0; r < ranks; ++r) ready.push_back(&grads_ready_[r][b]);
    if (in_parts(slice.count, ranks)) {
      step_in_parts(grads, slice, ready, all_reduce, sgd_of);
      continue;
    }
    if (all_reduce)
      collectives_.all_reduce_bucket(grads, slice.offset, slice.count, ready);
    else
      collectives_.reduce_bucket(grads, slice.offset, slice.count, ready);
    for (int r = 0; r < ranks; ++r) {
      Sgd* sgd = sgd_of(r);
      if (!sgd) continue;
      LogicalDevice& d = group_[r];
      d.copy.wait(grads_ready_[r][b]);  // one rank alone has no edge that waited for it
      if (r == 0)  // dp: every replica has copied these parameters (step start)
        for (int to = 1; to < params_sent_; ++to) d.copy.wait(params_ready_[to][b]);
      if (ranks == 1 || slice.count < options_.split_bucket_floats) {
        sgd_slice(r, *sgd, r, d.copy, Lane::Copy, slice.offset, slice.count);
        continue;
      }
      // A big bucket's SGD, in halves (see the header). SGD is elementwise:
      // where a part runs changes no bit.
      d.copy.record(reduced_[r][b]);
      const int64_t half =
          slice.count / 2;  // the first on the copy stream, the rest after backward
      sgd_slice(r, *sgd, r, d.copy, Lane::Copy, slice.offset, half);
      d.compute.wait(reduced_[r][b]);
      sgd_slice(r, *sgd, r, d.compute, Lane::Compute, slice.offset + half, slice.count - half);
    }
  }
  for (int r = 0; r < ranks; ++r)
    if (Sgd* sgd = sgd_of(r)) sgd->set_steps_taken(sgd->steps_taken() + 1);
  collectives_.join(ranks);
}

void ParallelTrainer::step_in_parts(const std::vector<float*>& grads, Replica::GradSlice slice,
                                    const std::vector<Event*>& ready, bool all_reduce,
                                    const std::function<Sgd*(int)>& sgd_of) {
  const int ranks = static_cast<int>(grads.size());
  const char* phase = all_reduce ? "all_reduce" : "reduce";
  for (int q = 0; q < ranks; ++q) {
    collectives_.reduce_part(grads, slice.offset, slice.count, q, ready, phase);
    if (all_reduce) collectives_.broadcast_part(grads, slice.offset, slice.count, q, phase);
    // dp: rank 0's parameters, whose part q only rank q's broadcast read this
    // step (data_parallel.cpp); ddp: part q of every replica's own.
    const Range part = Collectives::part_of(slice.count, ranks, q);
    for (int r = 0; r < ranks; ++r)
      if (Sgd* sgd = sgd_of(r))
        sgd_slice(r, *sgd, q, group_[q].compute, Lane::Compute, slice.offset + part.begin,
                  part.end - part.begin);
  }
}

bool ParallelTrainer::in_parts(int64_t count, int ranks) const {
  return ranks > 1 && count >= options_.split_bucket_floats && options_.collectives.direct_reads &&
         shares_root_memory(ranks);
}

bool ParallelTrainer::shares_root_memory(int ranks) const {
  for (int q = 1; q < ranks; ++q) {
    const PeerPath path = peer_path(group_[q].device, group_[0].device);
    if (path != PeerPath::HostMemcpy && path != PeerPath::SameGpu) return false;
  }
  return true;
}

void ParallelTrainer::sgd_slice(int owner, Sgd& sgd, int runner, Stream& on, Lane lane,
                                int64_t offset, int64_t n) {
  traced(tracer_, on, runner, lane, "sgd", {}, [&] {
    const Context ctx = on.context();
    const SgdOptions options = sgd.options();
    const bool first = sgd.steps_taken() == 0;
    float* p = replicas_[owner]->net().params() + offset;
    const float* g = replicas_[owner]->net().grads() + offset;
    float* m = sgd.momentum_buffer() ? sgd.momentum_buffer() + offset : nullptr;
    on.enqueue([=] { sgd_step(ctx, n, p, g, m, options, first); });
  });
}

void ParallelTrainer::check_loss(float loss) {
  ++steps_;
  if (!std::isfinite(loss))
    fail("training diverged: the loss is ", loss, " at step ", steps_, " (try a smaller --lr)");
}

int64_t ParallelTrainer::correct_in(const float* host_logits, const int32_t* host_y,
                                    int64_t n) const {
  const int64_t classes = replicas_[0]->classes();
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

EvalStats ParallelTrainer::evaluate(const Dataset& data, int64_t batch) {
  EvalStats stats;
  const std::vector<int64_t> order = epoch_order(data.size(), 0, 0, false);
  std::vector<float> x(static_cast<std::size_t>(batch * data.sample_numel()));
  std::vector<int32_t> y(static_cast<std::size_t>(batch));
  std::vector<float> logits;
  const int64_t classes = replicas_[0]->classes();
  // The trace and the communication clock show training steps only.
  Tracer* const tracer = tracer_;
  tracer_ = nullptr;
  collectives_.set_tracer(nullptr);
  struct Restore {
    ParallelTrainer* self;
    Tracer* tracer;
    ~Restore() {
      self->tracer_ = tracer;
      self->collectives_.set_tracer(tracer);
      self->clock_.discard();
    }
  } restore{this, tracer};
  guarded([&] {
    replicate_for_evaluation();
    for (int64_t first = 0; first < data.size(); first += batch) {
      const int64_t n = std::min(batch, data.size() - first);
      gather_batch(data, order, first, n, x.data(), y.data());
      const std::vector<Shard> shards = chunk_batch(n, group_.size());
      begin_step(n, shards);
      scatter(shards, x.data(), y.data());
      for (std::size_t r = 0; r < shards.size(); ++r) {
        Replica& replica = *replicas_[r];
        replica.forward(shards[r].size, nullptr);
        CrossEntropyLoss* loss = eval_losses_[r].get();
        const Context ctx = replica.device().context();
        const int64_t size = shards[r].size;
        const float* out = replica.logits();
        const int32_t* labels = replica.y();
        replica.device().compute.enqueue(
            [=] { loss->compute(ctx, size, classes, out, labels, nullptr); });
      }
      group_.synchronize();
      for (std::size_t r = 0; r < shards.size(); ++r) {
        const Context ctx = replicas_[r]->device().context();
        logits.resize(static_cast<std::size_t>(shards[r].size * classes));
        download(ctx, logits.data(), replicas_[r]->logits(), ctx.device,
                 logits.size() * sizeof(float));
        stats.correct += correct_in(logits.data(), y.data() + shards[r].offset, shards[r].size);
        stats.loss += static_cast<double>(eval_losses_[r]->value(ctx)) * shards[r].size;
      }
      stats.samples += n;
    }
    // Idle afterwards, as after a step, also when `data` is empty and the
    // replicate above is still on its way: a step's parts assume it.
    group_.synchronize();
  });
  if (stats.samples) stats.loss /= stats.samples;
  return stats;
}

std::unique_ptr<ParallelTrainer> make_parallel_trainer(DeviceGroup& group,
                                                       const NetFactory& factory, SgdOptions sgd,
                                                       ParallelOptions options,
                                                       CrossEntropyOptions loss) {
  if (options.mode == ParallelMode::DataParallel)
    return std::make_unique<DataParallelTrainer>(group, factory, sgd, options, loss);
  return std::make_unique<DistributedTrainer>(group, factory, sgd, options, loss);
}

}  // namespace cudp
