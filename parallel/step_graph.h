// StepGraph: the capture policy of a parallel trainer's step as one CUDA graph
// (ParallelOptions::cuda_graph; runtime/graph.h holds the CUDA primitives).
//
//   plan(B)   Eager    the first step at a batch size (the warm-up: activations,
//                      kernel scratch and peer access are sized and enabled
//                      there, never while capturing), and any step whose batch
//                      is not the captured one: the last partial batch of an
//                      epoch runs eagerly, on the same buffers (it is smaller,
//                      nothing is reallocated); a LARGER batch drops the graph,
//                      since its buffers may move
//             Capture  the second step at the warm batch: the trainer queues
//                      its phases between begin_capture and end_capture, then
//                      launches the graph once (capture runs nothing)
//             Replay   every later step at that batch: launch() only
//   reset()   drops the graph: evaluate() and a resume may reallocate buffers
//             or re-broadcast the parameters; plan() drops it too when the
//             kernels' scratch was reallocated since the capture (an eager
//             partial batch may need more split-K scratch than the full one)
// Outside the graph, before each launch: the batch's host-to-device copies
// (into the same static buffers) and the step's scalars (model/sgd.h, ddp's
// loss weight). The origin is rank 0's compute stream; every compute and copy
// stream of the group is forked from it and joined back (runtime/graph.h).
// Unverified on silicon.
#pragma once

#include <cstdint>
#include <functional>

#include "parallel/device_group.h"
#include "runtime/graph.h"

namespace cudp {

// ParameterError for "cuda_graph" unless every device is a GPU and the group is
// one process (the edges between processes are host MPI calls: not capturable).
void check_cuda_graph_group(const DeviceGroup& group);

class StepGraph {
 public:
  enum class Mode { Eager, Capture, Replay };
  explicit StepGraph(DeviceGroup& group);  // check_cuda_graph_group

  Mode plan(int64_t B);
  void begin_capture();
  void end_capture();
  // Rank 0's compute stream waits for every stream (the batch's copies), the
  // graph runs there, and every stream waits for it.
  void launch();
  void reset();
  // Called right after each capture begins and after each launch: the trainer
  // re-records its long-lived events there (the Communicator's scratch slots), so
  // that no captured stream waits on an event recorded outside the capture, and no
  // eager stream on one last recorded inside it (both refused by CUDA).
  void set_event_refresh(std::function<void()> refresh) { refresh_ = std::move(refresh); }
  int64_t launches() const { return launches_; }  // graph launches so far

 private:
  DeviceGroup& group_;
  StreamGraph graph_;
  int64_t warm_batch_ = 0;   // the batch of the last eager step
  int64_t graph_batch_ = 0;  // the captured batch; 0: none
  uint64_t scratch_generation_ = 0;  // kernel_scratch_generation() at the capture
  std::function<void()> refresh_;
  int64_t launches_ = 0;
};

}  // namespace cudp
