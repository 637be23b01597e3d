// ReplicaSet: what the DataParallel and DDP steps share, held by each trainer
// (composition: no base class with state whose meaning changes by mode).
//
//   replicas      rank r's net, built by the factory on rank r's device with
//                 seed + r (rank 0's seed is the run's, so N devices start
//                 from the one-device model), and its shard buffers x, y,
//                 dlogits. Forward and backward are Sequential's own loops
//                 with a LayerRunner that queues each layer on the rank's
//                 compute stream as a trace span (forward/conv1, ...).
//   plan, comm    the BucketPlan (bucket_plan.h) and the Communicator
//                 (communicator.h) over the group
//   scatter       each rank's shard of the host batch (torch.chunk sizes)
//   backward      with bucket-ready hooks: after a layer's backward, its
//                 bucket's ready event is recorded on the rank's compute stream
//   update        per bucket in the order backward produces them: reduce (dp)
//                 or all-reduce (ddp), then the SGD pieces the plan places
//   evaluate      forward only over a data set, sharded like a step
//   clock         the first device's movement and compute spans, every step
//                 (comm_clock.h): last_comm_time(), last_net_time()
// The decision a reader would get wrong: reserve() (begin_step) reallocates,
// so it runs on the host only while the group is idle: every step and every
// evaluation ends synchronized.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "model/loss.h"
#include "model/sgd.h"
#include "model/trainer.h"
#include "parallel/bucket_plan.h"
#include "parallel/comm_clock.h"
#include "parallel/communicator.h"
#include "parallel/device_group.h"
#include "parallel/trace.h"

namespace cudp {

using NetFactory = std::function<std::unique_ptr<Sequential>(Device device, uint64_t seed)>;

struct Shard {
  int64_t offset = 0, size = 0;
};
std::vector<Shard> chunk_batch(int64_t batch, int devices);  // torch.chunk's sizes
// The shards of global devices first..first+local-1 among chunk_batch(batch,
// total): the active ones of this process, a prefix of its ranks (maybe none).
std::vector<Shard> local_shards(int64_t batch, int total, int first, int local);

enum class Collective { Reduce, AllReduce };

class ReplicaSet {
  struct Replica {  // rank r's
    std::unique_ptr<Sequential> net;
    Buffer<float> x, dlogits;
    Buffer<int32_t> y;
    int64_t capacity = 0;
    std::unique_ptr<CrossEntropyLoss> eval_loss;  // reduction mean
  };

 public:
  ReplicaSet(DeviceGroup& group, const NetFactory& factory, PlanOptions plan,
             CrossEntropyOptions loss, Tracer* tracer);
  ~ReplicaSet();

  DeviceGroup& group() { return group_; }
  const BucketPlan& plan() const { return plan_; }
  Communicator& comm() { return comm_; }
  CommClock& clock() { return clock_; }
  Tracer* tracer() { return tracer_; }
  const CrossEntropyOptions& loss_options() const { return loss_options_; }

  Sequential& net(int r) { return *at(r).net; }
  float* x(int r) { return at(r).x.data(); }
  int32_t* y(int r) { return at(r).y.data(); }
  float* dlogits(int r) { return at(r).dlogits.data(); }
  const float* logits(int r) { return at(r).net->logits(); }
  int64_t classes() const { return classes_; }
  std::vector<float*> params(int ranks);  // rank r's flat parameters, r < ranks
  std::vector<float*> grads(int ranks);

  // This process's shards of a global batch (every device of every process).
  std::vector<Shard> shards(int64_t B) const;
  // Values of this process's active ranks, shard by shard (as many per shard
  // on every process),
  // gathered from every process in global device order: a sum over them in
  // that order is the one process's sum, bit for bit. Collective.
  std::vector<double> gather_shards(const std::vector<double>& mine);

  // A step: reserve the shards' buffers, mark the step's start (trace)...
  void begin_step(int64_t B, const std::vector<Shard>& shards);
  void scatter(const std::vector<Shard>& shards, const float* host_x, const int32_t* host_y);
  // ...queue each phase, and wait for all of it here (span "step").
  void finish_step();
  // The host lane: a span `name` from the host's last mark (begin_step, or the
  // span before) to now, on this process's first device (trace only).
  void host_span(const char* name, const char* phase = nullptr);
  // Runs body() with no trace marks and the communication clock paused, then
  // puts both back: a CUDA graph capture, whose marks nothing would time.
  void untimed(const std::function<void()>& body);
  CommTime last_comm_time() const { return comm_time_; }
  NetTime last_net_time() const { return net_time_; }

  // Queued on rank r's compute stream. before_layer(i), when given, runs on the
  // host before layer i is queued (dp waits there for that layer's parameters).
  void forward(int r, int64_t N, std::function<void(std::size_t)> before_layer = nullptr);
  void backward(int r);      // records ready(b) on rank r after each bucket's layer
  void record_ready(int r);  // an idle rank: every bucket is ready (its zeros)
  std::vector<Event*> ready(const Bucket& bucket, int ranks);

  // Reduce (or all-reduce) every bucket over ranks 0..ranks-1 and queue the
  // SGD pieces of each rank r with sgd_of(r) != nullptr; after_sent: the SGD
  // also waits until the bucket's last broadcast has read rank 0's values (dp).
  // scalars_ready[r], when given: rank r's SGD pieces also wait for it (the
  // device's skip flag is written then, kernels/finite.h).
  void update(int ranks, Collective collective, const std::function<Sgd*(int)>& sgd_of,
              bool after_sent, const std::vector<Event*>& scalars_ready = {});

  // Loss and accuracy over `data` in batches; `replicate` first gives every
  // replica rank 0's parameters. Leaves the group idle, the trace untouched.
  EvalStats evaluate(const Dataset& data, int64_t batch, const std::function<void()>& replicate);

  // The step count, and the diverged-loss error naming it.
  void count_step(float loss);
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }

  // Runs body(); if it throws, waits for every queued closure (they point at
  // host memory the caller may free) and rethrows.
  template <class Body>
  auto guarded(Body&& body) -> decltype(body());

 private:
  class Runner;
  ReplicaSet(DeviceGroup& group, std::vector<std::unique_ptr<Sequential>> nets, PlanOptions plan,
             CrossEntropyOptions loss, Tracer* tracer);
  Replica& at(int r) { return *replicas_.at(static_cast<std::size_t>(r)); }
  void sgd_piece(int owner, Sgd& sgd, const SgdPiece& piece);

  DeviceGroup& group_;
  CrossEntropyOptions loss_options_;
  Tracer* tracer_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  int64_t sample_numel_ = 0, classes_ = 0;
  BucketPlan plan_;
  CommClock clock_;
  Communicator comm_;
  std::vector<std::vector<Event>> ready_;  // [rank][bucket]: its grads are written (compute)
  std::vector<TimeMark> step_begin_;
  double host_mark_us_ = 0;
  int64_t steps_ = 0;
  CommTime comm_time_;
  NetTime net_time_;
};

template <class Body>
auto ReplicaSet::guarded(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    group_.drain();
    comm_.drain();
    throw;
  }
}

}  // namespace cudp
