// ReplicaSet (see replica_set.h): replicas, scatter, bucket-ready hooks, the
// update of every bucket, evaluation.
#include "parallel/replica_set.h"

#include <algorithm>
#include <cstring>

#include "kernels/sgd.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp {

std::vector<Shard> chunk_batch(int64_t batch, int devices) {
  if (devices < 1) fail("chunk_batch: expected at least one device, found ", devices);
  std::vector<Shard> shards;
  const int64_t chunk = (batch + devices - 1) / devices;  // torch.chunk: ceil(B / N)
  for (int64_t offset = 0; offset < batch; offset += chunk)
    shards.push_back({offset, std::min(chunk, batch - offset)});
  return shards;
}

std::vector<Shard> local_shards(int64_t batch, int total, int first, int local) {
  const std::vector<Shard> all = chunk_batch(batch, total);
  std::vector<Shard> mine;
  for (int g = first; g < first + local && g < static_cast<int>(all.size()); ++g)
    mine.push_back(all[static_cast<std::size_t>(g)]);
  return mine;
}

// Sequential's loops, one queued closure per layer on the rank's compute stream.
class ReplicaSet::Runner final : public LayerRunner {
 public:
  Runner(ReplicaSet& set, int rank) : set_(set), rank_(rank) {}
  std::function<void(std::size_t)> before_forward;
  bool record_ready = false;

  void forward(std::size_t layer, std::function<void()> work) override {
    if (before_forward) before_forward(layer);
    queue(concat("forward/", name(layer)), std::move(work));
  }
  void backward(std::size_t layer, std::function<void()> work) override {
    queue(concat("backward/", name(layer)), std::move(work));
    if (!record_ready) return;
    for (const int b : set_.plan_.ready_after_layer(layer)) stream().record(set_.ready_[rank_][b]);
  }

 private:
  Stream& stream() { return set_.group_[rank_].compute; }
  const std::string& name(std::size_t layer) { return set_.net(rank_).layers()[layer]->name(); }
  void queue(const std::string& span, std::function<void()> work) {
    Stream& s = stream();
    traced(set_.tracer_, &set_.clock_, s, rank_, Lane::Compute, span.c_str(), {},
           [&] { s.enqueue(std::move(work)); });
  }
  ReplicaSet& set_;
  int rank_;
};

namespace {
std::vector<std::unique_ptr<Sequential>> build(DeviceGroup& group, const NetFactory& factory) {
  std::vector<std::unique_ptr<Sequential>> nets;
  for (int r = 0; r < group.size(); ++r) {
    nets.push_back(factory(group[r].device, group[r].seed));
    CUDP_ASSERT(nets.back() && nets.back()->device() == group[r].device);
  }
  return nets;
}
}  // namespace

ReplicaSet::ReplicaSet(DeviceGroup& group, const NetFactory& factory, PlanOptions plan,
                       CrossEntropyOptions loss, Tracer* tracer)
    : ReplicaSet(group, build(group, factory), plan, loss, tracer) {}

ReplicaSet::ReplicaSet(DeviceGroup& group, std::vector<std::unique_ptr<Sequential>> nets,
                       PlanOptions plan, CrossEntropyOptions loss, Tracer* tracer)
    : group_(group),
      loss_options_(loss),
      tracer_(tracer),
      plan_(*nets.at(0), group, plan),
      comm_(group, plan_, tracer, &clock_) {
  sample_numel_ = shape_numel(nets[0]->input_shape());
  classes_ = nets[0]->classes();
  CrossEntropyOptions mean = loss;
  mean.reduction = Reduction::Mean;
  for (int r = 0; r < group.size(); ++r) {
    auto replica = std::make_unique<Replica>();
    replica->net = std::move(nets[static_cast<std::size_t>(r)]);
    replica->eval_loss = std::make_unique<CrossEntropyLoss>(group[r].device, mean);
    replicas_.push_back(std::move(replica));
    ready_.emplace_back();
    for (std::size_t b = 0; b < plan_.buckets().size(); ++b)
      ready_.back().emplace_back(group[r].device);
  }
  step_begin_.resize(static_cast<std::size_t>(group.size()));
}

ReplicaSet::~ReplicaSet() {
  group_.drain();
  comm_.drain();
}

std::vector<Shard> ReplicaSet::shards(int64_t B) const {
  const DeviceLayout& layout = group_.layout();
  return local_shards(B, layout.total(), layout.first(), group_.size());
}

std::vector<double> ReplicaSet::gather_shards(const std::vector<double>& mine) {
  if (!group_.spans_processes()) return mine;
  const std::string bytes(reinterpret_cast<const char*>(mine.data()), mine.size() * sizeof(double));
  std::vector<double> all;
  for (const std::string& theirs : group_.processes().all_gather(bytes)) {
    const std::size_t at = all.size();
    all.resize(at + theirs.size() / sizeof(double));
    std::memcpy(all.data() + at, theirs.data(), theirs.size() / sizeof(double) * sizeof(double));
  }
  return all;
}

std::vector<float*> ReplicaSet::params(int ranks) {
  std::vector<float*> out;
  for (int r = 0; r < ranks; ++r) out.push_back(net(r).params());
  return out;
}

std::vector<float*> ReplicaSet::grads(int ranks) {
  std::vector<float*> out;
  for (int r = 0; r < ranks; ++r) out.push_back(net(r).grads());
  return out;
}

void ReplicaSet::begin_step(int64_t B, const std::vector<Shard>& shards) {
  if (B < 1) fail("a training step needs at least one sample, found ", B);
  // The group is idle here: every step and evaluation ends synchronized.
  for (std::size_t i = 0; i < shards.size(); ++i) {
    Replica& replica = at(static_cast<int>(i));
    const int64_t N = shards[i].size;
    replica.net->reserve(N);
    if (N <= replica.capacity) continue;
    const Device device = group_[static_cast<int>(i)].device;
    replica.x = Buffer<float>(device, static_cast<std::size_t>(N * sample_numel_));
    replica.y = Buffer<int32_t>(device, static_cast<std::size_t>(N));
    replica.dlogits = Buffer<float>(device, static_cast<std::size_t>(N * classes_));
    replica.capacity = N;
  }
  if (tracer_)
    for (int r = 0; r < group_.size(); ++r) step_begin_[r] = group_[r].compute.mark();
  host_mark_us_ = tracer_ ? host_microseconds() : 0;
}

void ReplicaSet::host_span(const char* name, const char* phase) {
  if (!tracer_) return;
  const double now = host_microseconds();
  TraceArgs args;
  args.phase = phase;
  tracer_->host_span(0, Lane::Host, name, host_mark_us_, now, args);
  host_mark_us_ = now;
}

void ReplicaSet::untimed(const std::function<void()>& body) {
  struct Restore {
    ReplicaSet* self;
    Tracer* tracer;
    ~Restore() {
      self->tracer_ = tracer;
      self->comm_.set_tracer(tracer);
      self->clock_.set_paused(false);
    }
  } restore{this, tracer_};
  tracer_ = nullptr;
  comm_.set_tracer(nullptr);
  clock_.set_paused(true);
  body();
}

void ReplicaSet::scatter(const std::vector<Shard>& shards, const float* host_x,
                         const int32_t* host_y) {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const int r = static_cast<int>(i);
    LogicalDevice& d = group_[r];
    const Shard s = shards[i];
    d.copy.wait_for(d.compute);  // x and y are not in use any more
    const int64_t x_bytes = s.size * sample_numel_ * 4;
    traced(tracer_, &clock_, d.copy, r, Lane::Copy, "copy", {x_bytes, -1, r, "scatter"}, [&] {
      copy_async(d.copy, x(r), d.device, host_x + s.offset * sample_numel_, cpu_device(),
                 static_cast<std::size_t>(x_bytes));
    });
    if (host_y) {
      traced(tracer_, &clock_, d.copy, r, Lane::Copy, "copy", {s.size * 4, -1, r, "scatter"}, [&] {
        copy_async(d.copy, y(r), d.device, host_y + s.offset, cpu_device(),
                   static_cast<std::size_t>(s.size) * 4);
      });
    }
    traced(tracer_, d.compute, r, Lane::Compute, "scatter", {},
           [&] { d.compute.wait_for(d.copy); });
  }
}

void ReplicaSet::finish_step() {
  if (tracer_)
    for (int r = 0; r < group_.size(); ++r)
      tracer_->span(r, Lane::Compute, "step", step_begin_[r], group_[r].compute.mark());
  host_span("enqueue");  // the reduce and SGD
  group_.synchronize();
  comm_.synchronize();
  host_span("sync");
  if (tracer_) tracer_->flush();
  const CommClock::Step step = clock_.take();
  comm_time_ = step.comm;
  net_time_ = step.net;
  if (tracer_ && group_.spans_processes()) tracer_->add_net_time(net_time_.busy_ms, net_time_.exposed_ms);
}

void ReplicaSet::forward(int r, int64_t N, std::function<void(std::size_t)> before_layer) {
  Replica& replica = at(r);
  if (N < 1 || N > replica.capacity)
    fail(group_[r].name(), ": forward of ", N, " samples, reserved for ", replica.capacity);
  Runner runner(*this, r);
  runner.before_forward = std::move(before_layer);
  replica.net->forward(group_[r].context(), N, replica.x.data(), &runner);
}

void ReplicaSet::backward(int r) {
  Runner runner(*this, r);
  runner.record_ready = true;
  net(r).backward(group_[r].context(), dlogits(r), &runner);
}

void ReplicaSet::record_ready(int r) {
  for (std::size_t b = plan_.buckets().size(); b-- > 0;) group_[r].compute.record(ready_[r][b]);
}

std::vector<Event*> ReplicaSet::ready(const Bucket& bucket, int ranks) {
  std::vector<Event*> events;
  for (int r = 0; r < ranks; ++r) events.push_back(&ready_[r][static_cast<std::size_t>(bucket.id)]);
  return events;
}

void ReplicaSet::update(int ranks, Collective collective, const std::function<Sgd*(int)>& sgd_of,
                        bool after_sent, const std::vector<Event*>& scalars_ready) {
  const std::vector<float*> g = grads(ranks);
  const auto& buckets = plan_.buckets();
  // The waits of bucket b's SGD pieces, then (step) the pieces themselves.
  auto sgd_of_bucket = [&](const Bucket& b, bool step) {
    for (int r = 0; r < ranks; ++r) {
      Sgd* sgd = sgd_of(r);
      if (!sgd) continue;
      for (const SgdPiece& piece : plan_.sgd_pieces(b, ranks, r)) {
        LogicalDevice& d = group_[piece.runner];
        Stream& s = piece.lane == Lane::Copy ? d.copy : d.compute;
        const Range range{piece.offset, piece.offset + piece.count};
        comm_.await_reduced(b, range, r, s);
        if (after_sent) comm_.await_sent(b, range, s);
        if (r < static_cast<int>(scalars_ready.size()) && scalars_ready[r])
          s.wait(*scalars_ready[r]);
        if (step) sgd_piece(r, *sgd, piece);
      }
    }
  };
  // --textbook: optimizer.step() after loss.backward(), which returns once
  // every bucket is reduced: every piece waits for every bucket first.
  const bool after_all = plan_.options().textbook;
  for (auto b = buckets.rbegin(); b != buckets.rend(); ++b) {  // the order backward wrote them
    if (collective == Collective::AllReduce)
      comm_.all_reduce(*b, g, ready(*b, ranks));
    else
      comm_.reduce(*b, g, ready(*b, ranks));
    if (!after_all) sgd_of_bucket(*b, true);
  }
  if (after_all) {
    for (auto b = buckets.rbegin(); b != buckets.rend(); ++b) sgd_of_bucket(*b, false);
    for (auto b = buckets.rbegin(); b != buckets.rend(); ++b) sgd_of_bucket(*b, true);
  }
  for (int r = 0; r < ranks; ++r)
    if (Sgd* sgd = sgd_of(r)) sgd->end_step();
  comm_.join(ranks);
}

void ReplicaSet::sgd_piece(int owner, Sgd& sgd, const SgdPiece& piece) {
  LogicalDevice& d = group_[piece.runner];
  Stream& on = piece.lane == Lane::Copy ? d.copy : d.compute;
  TraceArgs args;
  args.owner = owner;
  args.offset = piece.offset;
  args.length = piece.count;
  traced(tracer_, &clock_, on, piece.runner, piece.lane, "sgd", args, [&] {
    // lr and the first-step flag are read from sgd's scalars when the piece runs
    // (begin_step wrote them): nothing per step is passed by value here.
    const Context ctx = on.context();
    Sgd* s = &sgd;
    const int64_t offset = piece.offset, n = piece.count;
    float* p = net(owner).params();
    const float* g = net(owner).grads();
    on.enqueue([=] { s->apply(ctx, p, g, offset, n); });
  });
}

void ReplicaSet::count_step(float loss) { check_finite_loss(loss, ++steps_); }

EvalStats ReplicaSet::evaluate(const Dataset& data, int64_t batch,
                               const std::function<void()>& replicate) {
  EvalStats stats;
  const std::vector<int64_t> order = epoch_order(data.size(), 0, 0, false);
  std::vector<float> hx(static_cast<std::size_t>(batch * data.sample_numel()));
  std::vector<int32_t> hy(static_cast<std::size_t>(batch));
  std::vector<float> logits;
  // The trace and the communication clock show training steps only.
  struct Untraced {
    ReplicaSet* self;
    Tracer* tracer;
    ~Untraced() {
      self->tracer_ = tracer;
      self->comm_.set_tracer(tracer);
      self->clock_.discard();
      self->clock_.set_paused(false);
    }
  } untraced{this, tracer_};
  tracer_ = nullptr;
  comm_.set_tracer(nullptr);
  clock_.set_paused(true);
  guarded([&] {
    replicate();
    for (int64_t first = 0; first < data.size(); first += batch) {
      const int64_t n = std::min(batch, data.size() - first);
      gather_batch(data, order, first, n, hx.data(), hy.data());
      const std::vector<Shard> shards = this->shards(n);
      begin_step(n, shards);
      scatter(shards, hx.data(), hy.data());
      for (std::size_t i = 0; i < shards.size(); ++i) {
        const int r = static_cast<int>(i);
        forward(r, shards[i].size);
        CrossEntropyLoss* loss = at(r).eval_loss.get();
        const Context ctx = group_[r].context();
        const int64_t size = shards[i].size, classes = classes_;
        const float* out = net(r).logits();
        const int32_t* labels = y(r);
        group_[r].compute.enqueue([=] { loss->compute(ctx, size, classes, out, labels, nullptr); });
      }
      group_.synchronize();
      std::vector<double> mine;  // per shard: correct, loss * size
      for (std::size_t i = 0; i < shards.size(); ++i) {
        const int r = static_cast<int>(i);
        const Context ctx = group_[r].context();
        logits.resize(static_cast<std::size_t>(shards[i].size * classes_));
        download(ctx, logits.data(), net(r).logits(), ctx.device, logits.size() * sizeof(float));
        mine.push_back(static_cast<double>(
            count_correct(logits.data(), hy.data() + shards[i].offset, shards[i].size, classes_)));
        mine.push_back(static_cast<double>(at(r).eval_loss->value(ctx)) * shards[i].size);
      }
      const std::vector<double> all = gather_shards(mine);
      for (std::size_t i = 0; i + 1 < all.size(); i += 2) {
        stats.correct += static_cast<int64_t>(all[i]);
        stats.loss += all[i + 1];
      }
      stats.samples += n;
    }
    // Idle afterwards, as after a step, also when `data` is empty and the
    // replicate above is still on its way: a step's parts assume it.
    group_.synchronize();
    comm_.synchronize();
  });
  if (stats.samples) stats.loss /= stats.samples;
  return stats;
}

}  // namespace cudp
