// DistributedTrainer: the DistributedDataParallel step over a DeviceGroup.
//
//   (first step) broadcast   rank 0's params to every replica, once
//   scatter      each replica's shard of x and y from the host (torch.chunk)
//   forward      every active replica on its shard
//   loss         per replica: cross-entropy with reduction sum, dlogits scaled
//                by 1 / (non-ignored targets in the WHOLE batch), so that the
//                summed gradients are the batch mean even for uneven shards
//   backward     every active replica; an idle replica's grads are zeroed
//   all_reduce   of the flat grads (tree or star reduce, then broadcast), one
//                layer's bucket at a time while the layers below run backward
//   sgd          on every replica, each with its own momentum buffer, bucket
//                by bucket as each one's sum arrives
// Replicas stay bitwise identical: the same params, the same summed grads, the
// same kernel. check_replicas (--check-replicas) verifies it after every step
// and names the first rank and element that differ.
#pragma once

#include <memory>
#include <vector>

#include "model/loss.h"
#include "model/sgd.h"
#include "parallel/parallel_trainer.h"

namespace cudp {

class DistributedTrainer final : public ParallelTrainer {
 public:
  DistributedTrainer(DeviceGroup& group, const NetFactory& factory, SgdOptions sgd,
                     ParallelOptions options, CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t B) override;
  Sgd& optimizer() override { return *sgds_[0]; }
  // Copies rank 0's momentum and step count to every replica's optimizer; the
  // params follow at the next step's broadcast.
  void restored(int64_t steps) override;
  void set_lr(float lr) override {
    for (auto& sgd : sgds_) sgd->set_lr(lr);
  }
  // Throws cudp::Error naming the first rank and parameter element that differ from rank 0.
  void check_replicas();

 private:
  void replicate_for_evaluation() override;
  void broadcast_once();
  StepStats run_step(const float* host_x, const int32_t* host_y, int64_t B);

  std::vector<std::unique_ptr<Sgd>> sgds_;                 // one per rank
  std::vector<std::unique_ptr<CrossEntropyLoss>> losses_;  // reduction sum, one per rank
  std::vector<Event> loss_ready_;
  bool broadcast_done_ = false;
  std::vector<float> host_logits_;
};

}  // namespace cudp
