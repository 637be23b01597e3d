// StepGraph (see step_graph.h). Unverified on silicon.
#include "parallel/step_graph.h"

#include <vector>

#include "kernels/scratch.h"
#include "runtime/error.h"

namespace cudp {

void check_cuda_graph_group(const DeviceGroup& group) {
  for (int r = 0; r < group.size(); ++r)
    if (!group[r].device.is_cuda())
      fail_parameter("cuda_graph", "expected every device on a GPU, found ", group[r].name(),
                     " (a CPU device's stream is a worker thread, which a CUDA graph cannot "
                     "capture)");
  if (group.spans_processes())
    fail_parameter("cuda_graph", "expected one process, found ", group.layout().processes(),
                   " (the edges between processes are host MPI calls, which a CUDA graph "
                   "cannot capture)");
}

StepGraph::StepGraph(DeviceGroup& group) : group_(group) { check_cuda_graph_group(group); }

StepGraph::Mode StepGraph::plan(int64_t B) {
  if (graph_batch_ != 0 && kernel_scratch_generation() != scratch_generation_) reset();
  if (graph_batch_ != 0 && B == graph_batch_) return Mode::Replay;
  if (graph_batch_ != 0 && B > graph_batch_) reset();  // its buffers may be reallocated
  if (graph_batch_ == 0 && B == warm_batch_) return Mode::Capture;
  if (graph_batch_ == 0) warm_batch_ = B;
  return Mode::Eager;
}

void StepGraph::begin_capture() {
  std::vector<Stream*> others;
  for (int r = 0; r < group_.size(); ++r) {
    others.push_back(&group_[r].compute);
    others.push_back(&group_[r].copy);
  }
  graph_.begin_capture(group_[0].compute, others);
  if (refresh_) refresh_();
}

void StepGraph::end_capture() {
  graph_.end_capture();
  graph_batch_ = warm_batch_;
  scratch_generation_ = kernel_scratch_generation();
}

void StepGraph::launch() {
  Stream& origin = group_[0].compute;
  for (int r = 0; r < group_.size(); ++r) {
    if (r != 0) origin.wait_for(group_[r].compute);
    origin.wait_for(group_[r].copy);
  }
  graph_.launch(origin);
  for (int r = 0; r < group_.size(); ++r) {
    if (r != 0) group_[r].compute.wait_for(origin);
    group_[r].copy.wait_for(origin);
  }
  ++launches_;
  if (refresh_) refresh_();
}

void StepGraph::reset() {
  graph_.reset();
  graph_batch_ = 0;
  warm_batch_ = 0;
}

}  // namespace cudp
