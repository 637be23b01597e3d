// DataParallelTrainer: PyTorch's nn.DataParallel step over a DeviceGroup, in
// the phases of torch/nn/parallel/data_parallel.py (each a function below,
// each a trace span or a trace phase of the same name):
//   scatter         each replica's shard of x (torch.chunk sizes) from the
//                   host; all labels to the output device
//   replicate       rank 0's flat params broadcast to the active replicas, one
//                   layer's bucket at a time; a layer's forward waits for its own
//   parallel_apply  forward on every active replica, all at once
//   gather          the logits copied to the output device, in batch order
//   loss            CrossEntropyLoss (mean) over the whole batch, there
//   scatter_grad    dlogits copied back, shard by shard
//   backward        every active replica (overwrites its grads)
//   reduce + step   per bucket while the layers below run backward: the grads
//                   summed into rank 0 (tree, or star), then SGD on rank 0 only;
//                   the other replicas' params are stale until the next
//                   replicate, exactly as PyTorch's replicas are rebuilt
// Because the loss is the mean over the gathered batch, the summed gradients
// are the one-device gradient (in real arithmetic). The host waits once in the
// step, for the loss, before queueing SGD: as on one device, a NaN loss or a
// bad label never reaches the parameters.
#pragma once

#include <memory>
#include <vector>

#include "parallel/parallel_trainer.h"
#include "parallel/step_graph.h"

namespace cudp {

class DataParallelTrainer final : public ParallelTrainer {
 public:
  DataParallelTrainer(DeviceGroup& group, const NetFactory& factory, SgdOptions sgd,
                      ParallelOptions options, CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t B) override;
  EvalStats evaluate(const Dataset& data, int64_t batch) override;
  Sequential& net() override { return replicas_.net(0); }
  Sgd& optimizer() override { return sgd_; }
  void restored(int64_t steps) override {
    replicas_.set_steps(steps);
    if (graph_) graph_->reset();
  }
  void set_lr(float lr) override { sgd_.set_lr(lr); }
  CommTime last_comm_time() const override { return replicas_.last_comm_time(); }
  NetTime last_net_time() const override { return replicas_.last_net_time(); }
  Sequential& replica_net(int rank) override { return replicas_.net(rank); }
  int64_t graph_launches() const override { return graph_ ? graph_->launches() : 0; }
  DeviceGroup& group() override { return replicas_.group(); }
  const BucketPlan& plan() const override { return replicas_.plan(); }

 private:
  StepStats run_step(const float* host_x, const int32_t* host_y, int64_t B);
  StepStats graph_step(const float* host_x, const int32_t* host_y, int64_t B,
                       StepGraph::Mode mode);
  void queue_step(const std::vector<Shard>& shards);  // replicate .. backward
  void write_scalars();
  void scatter(const std::vector<Shard>& shards, const float* host_x, const int32_t* host_y);
  void replicate(int active);
  void parallel_apply(const std::vector<Shard>& shards);
  void gather(const std::vector<Shard>& shards);
  void loss(int64_t B);
  void scatter_grad(const std::vector<Shard>& shards);
  StepStats check_loss(const int32_t* host_y, int64_t B, bool synchronized = false);

  ReplicaSet replicas_;
  DeviceGroup& group_;
  int out_rank_;
  Sgd sgd_;                         // on rank 0
  CrossEntropyLoss loss_;           // on the output device
  Event loss_ready_;                // recorded on the output device after the loss
  Buffer<float> logits_, dlogits_;  // [B, classes] on the output device
  Buffer<int32_t> labels_;          // [B] on the output device
  Buffer<int32_t> out_flag_;        // [1] on the output device: its loss is not finite
  int64_t capacity_ = 0;
  std::vector<float> host_logits_;
  std::unique_ptr<StepGraph> graph_;  // --cuda-graph on
};

}  // namespace cudp
