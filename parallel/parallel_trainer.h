// ParallelTrainer: the training step over a DeviceGroup, DataParallel or DDP.
//
//   dp   PyTorch's nn.DataParallel: every step scatter the batch, broadcast
//        rank 0's flat params, forward, gather the logits to the output
//        device, loss there, scatter dlogits, backward, reduce the flat grads
//        into rank 0, SGD on rank 0 only.          (parallel/data_parallel.cpp)
//   ddp  DistributedDataParallel: params broadcast once; each replica's loss on
//        its shard with reduction sum over the batch's count of non-ignored
//        targets; all_reduce of the grads; SGD on every replica. (parallel/ddp.cpp)
// Shards follow torch.chunk: chunk = ceil(B / N), so 9 over 4 is 3,3,3 and one
// idle device, and a batch smaller than N uses fewer replicas.
// Replica r's net is built by the factory on rank r's device with seed + r;
// rank 0's seed is the run's seed, so N devices start from the one-device model.
// The decision a reader would get wrong: net() is rank 0's model. Load weights
// into it before the first step (DP broadcasts it every step, DDP once); a
// checkpoint also loads optimizer(), then calls restored().
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "model/data/dataset.h"
#include "model/trainer.h"
#include "parallel/collectives.h"
#include "parallel/replica.h"

namespace cudp {

enum class ParallelMode { DataParallel, Distributed };
ParallelMode parse_parallel_mode(const std::string& text);  // "dp" or "ddp"
const char* parallel_mode_name(ParallelMode mode);

struct ParallelOptions {
  ParallelMode mode = ParallelMode::DataParallel;
  CollectiveOptions collectives;
  int output_rank = 0;          // dp: where outputs are gathered and the loss computed
  bool check_replicas = false;  // ddp: compare every replica's params after each step
  Tracer* tracer = nullptr;     // null: no trace
  // With several ranks, a bucket of this many floats or more (seed-pool's fc1)
  // is cut into parts or halves (see reduce_and_step).
  int64_t split_bucket_floats = int64_t{1} << 18;
};

using NetFactory = std::function<std::unique_ptr<Sequential>(Device device, uint64_t seed)>;

struct Shard {
  int64_t offset = 0, size = 0;
};
std::vector<Shard> chunk_batch(int64_t batch, int devices);  // torch.chunk's sizes

class ParallelTrainer {
 public:
  virtual ~ParallelTrainer();
  ParallelTrainer(const ParallelTrainer&) = delete;
  ParallelTrainer& operator=(const ParallelTrainer&) = delete;

  // One SGD step on B samples from host memory; the loss is the batch mean.
  virtual StepStats step(const float* host_x, const int32_t* host_y, int64_t B) = 0;
  // Forward only, sharded over the replicas; loss and accuracy over `data`.
  EvalStats evaluate(const Dataset& data, int64_t batch);

  Sequential& net() { return replica_net(0); }
  // Rank 0's optimizer: dp's only one; ddp's first, every replica's equal to it.
  virtual Sgd& optimizer() = 0;
  // After a checkpoint was loaded into net() and optimizer() (before any step):
  // every replica takes rank 0's state, and the step count goes on from `steps`.
  virtual void restored(int64_t steps) { steps_ = steps; }
  // The learning rate of the next steps (a schedule's), on every optimizer.
  virtual void set_lr(float lr) { optimizer().set_lr(lr); }
  Sequential& replica_net(int rank);
  DeviceGroup& group() { return group_; }
  const ParallelOptions& options() const { return options_; }
  double last_communication_ms() const { return communication_ms_; }  // of the last step

 protected:
  ParallelTrainer(DeviceGroup& group, const NetFactory& factory, ParallelOptions options,
                  CrossEntropyOptions loss);

  // Gives every replica rank 0's params before an evaluation (dp: a broadcast,
  // ddp: the first step's broadcast if it has not happened yet).
  virtual void replicate_for_evaluation() = 0;

  // Steps share these. Each queues work; finish_step() waits for all of it.
  void begin_step(int64_t B, const std::vector<Shard>& shards);  // buffers; trace marks
  void scatter(const std::vector<Shard>& shards, const float* host_x, const int32_t* host_y);
  void finish_step();
  // Gradient buckets, one per layer with parameters (its slice of the flat
  // buffers), so that communication and SGD overlap backward:
  //   queue_backward   backward on replicas 0..active-1, layer by layer across
  //                    them, each bucket's grads_ready_ recorded on every rank
  //                    0..ranks-1 once its layer is done (ranks past `active`,
  //                    ddp's idle ones, hold zeros already)
  //   reduce_and_step  after the host has checked the loss: each bucket, in
  //                    the order backward produces them, reduced into rank 0
  //                    (dp) or all-reduced (ddp) on the copy streams, then SGD
  //                    on that slice on the copy stream of every rank that has
  //                    an optimizer (sgd_of(r), or nullptr); then the compute
  //                    streams join. With dp's per-bucket broadcast, rank 0's
  //                    SGD of a bucket also waits until every receiver has
  //                    copied those parameters (params_sent_ ranks).
  //   Big buckets       (split_bucket_floats or more, several ranks): on CPU
  //                    devices a copy stream is one more thread on the same
  //                    cores, and its work took a core from one replica at a
  //                    time: that replica fell behind and the other waited. So
  //                    where every rank addresses every other's memory (CPU
  //                    devices, logical devices on one GPU; in_parts), the
  //                    bucket is cut into one part per rank and rank q's
  //                    compute stream does part q's share of everything:
  //                    (dp) the broadcast at the step's start, and after its
  //                    backward the reduce, (ddp) the all-reduce's broadcast,
  //                    and the SGD of part q of every optimizer's parameters
  //                    (step_in_parts). Elsewhere (GPUs apart) a rank steps the
  //                    first half of its bucket on its copy stream and the rest
  //                    on its compute stream after backward.
  void queue_backward(int active, int ranks);
  void reduce_and_step(int ranks, bool all_reduce, const std::function<Sgd*(int)>& sgd_of);
  void step_in_parts(const std::vector<float*>& grads, Replica::GradSlice slice,
                     const std::vector<Event*>& ready, bool all_reduce,
                     const std::function<Sgd*(int)>& sgd_of);
  bool in_parts(int64_t count, int ranks) const;  // is this bucket cut into parts?
  bool shares_root_memory(int ranks) const;       // ranks 1.. read rank 0's memory in place, free
  // Queues SGD on [offset, offset + n) of `owner`'s parameters on `on`, a stream of `runner`.
  void sgd_slice(int owner, Sgd& sgd, int runner, Stream& on, Lane lane, int64_t offset, int64_t n);

  // Bookkeeping the Trainer does: the step count, the diverged-loss error.
  void check_loss(float loss);
  int64_t correct_in(const float* host_logits, const int32_t* host_y, int64_t n) const;
  template <class Body>
  auto guarded(Body&& body) -> decltype(body());  // drains the group if body throws

  DeviceGroup& group_;
  ParallelOptions options_;
  CrossEntropyOptions loss_options_;
  Tracer* tracer_;
  CommClock clock_;
  Collectives collectives_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<std::unique_ptr<CrossEntropyLoss>> eval_losses_;  // per rank, reduction mean
  std::vector<TimeMark> step_begin_;
  std::vector<int> bucket_of_;                   // per layer: its bucket, or -1
  std::vector<Replica::GradSlice> buckets_;      // in forward (flat buffer) order
  std::vector<std::vector<Event>> grads_ready_;  // [rank][bucket], on compute
  // dp, [rank][bucket]: a whole bucket arrived at receiver `rank` (its copy
  // stream); a bucket in parts: sender `rank` sent its part (its compute stream)
  std::vector<std::vector<Event>> params_ready_;
  std::vector<std::vector<Event>> reduced_;  // [rank][bucket], on copy: a big bucket's halves
  int params_sent_ = 0;  // dp: ranks 1..params_sent_-1 received rank 0's params this step
  int64_t steps_ = 0;
  double communication_ms_ = 0;
};

template <class Body>
auto ParallelTrainer::guarded(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    group_.drain();  // queued closures point at host memory the caller may free
    throw;
  }
}

std::unique_ptr<ParallelTrainer> make_parallel_trainer(DeviceGroup& group,
                                                       const NetFactory& factory, SgdOptions sgd,
                                                       ParallelOptions options,
                                                       CrossEntropyOptions loss = {});

}  // namespace cudp
