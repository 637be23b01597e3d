// DataParallelTrainer: PyTorch's nn.DataParallel step over a DeviceGroup.
//
//   scatter       each replica's shard of x (torch.chunk sizes) from the host;
//                 all labels to the output device
//   replicate     rank 0's flat params broadcast to the active replicas, one
//                 layer's bucket at a time; a layer's forward waits for its own
//   forward       every active replica on its shard, all at once
//   gather        the logits copied to the output device, in batch order
//   loss          CrossEntropyLoss (mean) over the whole batch, there
//   scatter_grad  dlogits copied back, shard by shard
//   backward      every active replica (overwrites its grads)
//   reduce        flat grads summed into rank 0 (tree, or star), bucket by
//                 bucket while the layers below run backward
//   sgd           on rank 0 only, bucket by bucket as each sum arrives; the
//                 other replicas' params are stale until the next replicate,
//                 exactly as PyTorch's replicas are rebuilt
// Because the loss is the mean over the gathered batch, the summed gradients
// are the one-device gradient (in real arithmetic).
#pragma once

#include "model/loss.h"
#include "model/sgd.h"
#include "parallel/parallel_trainer.h"

namespace cudp {

class DataParallelTrainer final : public ParallelTrainer {
 public:
  DataParallelTrainer(DeviceGroup& group, const NetFactory& factory, SgdOptions sgd,
                      ParallelOptions options, CrossEntropyOptions loss = {});

  StepStats step(const float* host_x, const int32_t* host_y, int64_t B) override;
  Sgd& optimizer() override { return sgd_; }

 private:
  void replicate_for_evaluation() override;
  StepStats run_step(const float* host_x, const int32_t* host_y, int64_t B);

  Sgd sgd_;                         // on rank 0
  CrossEntropyLoss loss_;           // on the output device
  Event loss_ready_;                // recorded on the output device after the loss
  Buffer<float> logits_, dlogits_;  // [B, classes] on the output device
  Buffer<int32_t> labels_;          // [B] on the output device
  int64_t capacity_ = 0;
  std::vector<float> host_logits_;
};

}  // namespace cudp
