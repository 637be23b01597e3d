// DistributedTrainer: the DistributedDataParallel step over a DeviceGroup, in
// phases (each a function below, each a trace span or phase of that name):
//   broadcast    (first step, and after a resume) rank 0's params to every
//                replica, once
//   scatter      each replica's shard of x and y from the host (torch.chunk)
//   forward      every active replica on its shard
//   loss         per replica: cross-entropy with reduction sum, dlogits scaled
//                by 1 / (non-ignored targets in the WHOLE batch), so that the
//                summed gradients are the batch mean even for uneven shards
//   backward     every active replica, with bucket-ready hooks (PyTorch's
//                reducer hooks); an idle replica's grads are zeros, ready at once
//   all_reduce   per bucket, as soon as every replica's hook fired for it,
//                while the layers below run backward
//   step         SGD on every replica, each with its own momentum buffer,
//                bucket by bucket as each one's sum arrives
// Replicas stay bitwise identical: the same params, the same summed grads, the
// same kernel. check_replicas (--check-replicas) verifies it after every step
// and names the first rank and element that differ.
#pragma once

#include <memory>
#include <vector>

#include "parallel/parallel_trainer.h"
#include "parallel/step_graph.h"

namespace cudp {

class DistributedTrainer final : public ParallelTrainer {
 public:
  DistributedTrainer(DeviceGroup& group, const NetFactory& factory, SgdOptions sgd,
                     ParallelOptions options, CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t B) override;
  EvalStats evaluate(const Dataset& data, int64_t batch) override;
  Sequential& net() override { return replicas_.net(0); }
  Sgd& optimizer() override { return *sgds_[0]; }
  // Copies rank 0's momentum and step count to every replica's optimizer; the
  // params follow at the next step's broadcast.
  void restored(int64_t steps) override;
  void set_lr(float lr) override {
    for (auto& sgd : sgds_) sgd->set_lr(lr);
  }
  CommTime last_comm_time() const override { return replicas_.last_comm_time(); }
  NetTime last_net_time() const override { return replicas_.last_net_time(); }
  Sequential& replica_net(int rank) override { return replicas_.net(rank); }
  int64_t graph_launches() const override { return graph_ ? graph_->launches() : 0; }
  DeviceGroup& group() override { return replicas_.group(); }
  const BucketPlan& plan() const override { return replicas_.plan(); }
  // Throws cudp::Error naming the first rank and parameter element that differ from rank 0.
  void check_replicas();

 private:
  StepStats run_step(const float* host_x, const int32_t* host_y, int64_t B);
  StepStats graph_step(const float* host_x, const int32_t* host_y, int64_t B,
                       StepGraph::Mode mode);
  void queue_update();
  void broadcast();
  void write_scalars(int64_t counted);
  void forward_and_loss(int r, int64_t n);
  void check_loss_on_devices(int active);
  void backward(int r, int active);
  StepStats check_loss(const std::vector<Shard>& shards, const int32_t* host_y, int64_t B,
                       int64_t counted, bool synchronized = false);

  ReplicaSet replicas_;
  DeviceGroup& group_;
  bool check_replicas_;
  std::vector<std::unique_ptr<Sgd>> sgds_;                 // one per rank
  std::vector<std::unique_ptr<CrossEntropyLoss>> losses_;  // reduction sum, one per rank
  std::vector<Event> loss_ready_;
  std::vector<Buffer<float>> weights_;  // [1] per rank: this step's loss weight, 1 / counted
  Buffer<float> loss_values_;           // [ranks] on rank 0: each replica's loss sum
  Buffer<int32_t> bad_rows_;            // [ranks] on rank 0: each one's first bad target row
  std::vector<Event> flag_ready_;       // per rank: its SGD's skip flag is written
  bool broadcast_done_ = false;
  std::vector<float> host_logits_;
  std::unique_ptr<StepGraph> graph_;  // --cuda-graph on
};

}  // namespace cudp
