// ParallelTrainer: the training step over a DeviceGroup, DataParallel or DDP,
// behind the same Trainer interface as one device (model/trainer.h).
//
//   dp   PyTorch's nn.DataParallel, phase by phase as data_parallel.py:
//        scatter, replicate, parallel_apply, gather, loss, scatter_grad,
//        backward, reduce, step                   (parallel/data_parallel.cpp)
//   ddp  DistributedDataParallel: broadcast once, then scatter, forward and
//        loss per replica, backward with bucket-ready hooks, all-reduce per
//        bucket, step on every replica            (parallel/ddp.cpp)
// Shards follow torch.chunk: chunk = ceil(B / N), so 9 over 4 is 3,3,3 and one
// idle device, and a batch smaller than N uses fewer replicas.
// The decision a reader would get wrong: net() is rank 0's model. Load weights
// into it before the first step (DP broadcasts it every step, DDP once); a
// checkpoint also loads optimizer(), then calls restored().
#pragma once

#include <memory>
#include <string>

#include "model/loss.h"
#include "model/sgd.h"
#include "model/trainer.h"
#include "parallel/replica_set.h"

namespace cudp {

enum class ParallelMode { DataParallel, Distributed };
// "dp" or "ddp"; otherwise a ParameterError for "parallel".
ParallelMode parse_parallel_mode(const std::string& text);
const char* parallel_mode_name(ParallelMode mode);

struct ParallelOptions {
  ParallelMode mode = ParallelMode::DataParallel;
  PlanOptions plan;
  int output_rank = 0;          // dp: where outputs are gathered and the loss computed
  bool check_replicas = false;  // ddp: compare every replica's params after each step
  Tracer* tracer = nullptr;     // null: no trace
  // The step as one CUDA graph, replayed (parallel/step_graph.h): every device a
  // GPU, one process; the same bits as eager (unverified on silicon).
  bool cuda_graph = false;
};
// The phases one graph replay runs, as the trace's "graph replay" span lists them: dp
// replicates the parameters each step (a broadcast), ddp only in its eager warm-up.
inline constexpr const char* kGraphReplayPhases =
    "scatter (before), broadcast, forward, loss, divergence check, backward, reduce, sgd";
inline constexpr const char* kDdpGraphReplayPhases =
    "scatter (before), forward, loss, divergence check, backward, all-reduce, sgd";

class ParallelTrainer : public Trainer {
 public:
  virtual Sequential& replica_net(int rank) = 0;
  virtual const BucketPlan& plan() const = 0;  // the buckets and routes this step runs
  virtual DeviceGroup& group() = 0;
  // How many steps ran as a launch of the captured graph (0 without cuda_graph).
  virtual int64_t graph_launches() const = 0;
};

std::unique_ptr<ParallelTrainer> make_parallel_trainer(DeviceGroup& group,
                                                       const NetFactory& factory, SgdOptions sgd,
                                                       ParallelOptions options,
                                                       CrossEntropyOptions loss = {});

}  // namespace cudp
