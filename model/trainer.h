// Trainer: what every way of training offers, one device or many.
//
//   step(x, y, B)       one SGD step on B samples from host memory; the loss
//                       is the batch mean, checked on the host before the
//                       update (a NaN never reaches the parameters)
//   evaluate(data, b)   forward only, in batches of b: loss and accuracy
//   net(), optimizer()  the model and the optimizer a checkpoint saves (with
//                       several devices: the first device's)
//   restored(steps)     after a checkpoint was loaded into net() and
//                       optimizer(): every copy takes that state, and the step
//                       count goes on from `steps`
//   set_lr(lr)          the learning rate of the next steps
// Implementations: OneDeviceTrainer (model/one_device_trainer.h), and the
// DataParallel and DDP trainers of parallel/.
#pragma once

#include <cstdint>

#include "data/dataset.h"
#include "model/sequential.h"
#include "model/sgd.h"

namespace cudp {

struct StepStats {
  float loss = 0;
  int64_t correct = 0;  // argmax(logits) == label
  int64_t samples = 0;
};

struct EvalStats {
  double loss = 0;  // mean over samples
  int64_t correct = 0, samples = 0;
  double accuracy() const { return samples ? static_cast<double>(correct) / samples : 0.0; }
};

// One step's communication on the first device (parallel/comm_clock.h):
// moved, the wall time in which some movement between devices ran on one of
// its streams; exposed, the part of it in which none of its compute ran (the
// step line's `comm`). The rest (hidden) ran beside its compute. Zero alone,
// but for the batch's copy from the host.
struct CommTime {
  double moved_ms = 0, exposed_ms = 0;
  double hidden_ms() const { return moved_ms > exposed_ms ? moved_ms - exposed_ms : 0; }
};

// Across processes (mpirun), one step's transfers between processes and the
// adds between them, by the same definition: busy, the wall time of the
// collectives on this process's net stream; exposed, the part of it in which
// no compute of this process's first device ran. Zero in one process.
struct NetTime {
  double busy_ms = 0, exposed_ms = 0;
  double hidden_ms() const { return busy_ms > exposed_ms ? busy_ms - exposed_ms : 0; }
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  virtual StepStats step(const float* host_x, const int32_t* host_y, int64_t B) = 0;
  virtual EvalStats evaluate(const Dataset& data, int64_t batch) = 0;
  virtual Sequential& net() = 0;
  virtual Sgd& optimizer() = 0;
  virtual void restored(int64_t steps) = 0;
  virtual void set_lr(float lr) = 0;
  // The last step's communication on the first device.
  virtual CommTime last_comm_time() const { return {}; }
  virtual NetTime last_net_time() const { return {}; }
};

// Rows of host_logits [n, classes] whose first maximum (torch.argmax) is the label.
int64_t count_correct(const float* host_logits, const int32_t* host_y, int64_t n, int64_t classes);
// Throws "training diverged" naming step `step` unless the loss is finite.
void check_finite_loss(float loss, int64_t step);

}  // namespace cudp
