// StreamGraph: work queued on a set of CUDA streams, captured once as a CUDA
// graph and replayed (cudaStreamBeginCapture / cudaGraphInstantiate /
// cudaGraphLaunch).
//
//   begin_capture(origin, others)  origin starts capturing; every other stream
//       waits on an event recorded there (a fork), so it joins the capture and
//       its later records and waits are graph edges, never host work
//   end_capture()   each other stream is joined back into origin (an event
//       each), the capture ends and the graph is instantiated
//   launch(origin)  one replay, queued on origin like any other work
// The decisions a reader would get wrong:
//  - capture records launches, it runs nothing: the captured step must be
//    launched once after end_capture to happen at all;
//  - a replay reads every pointer and every by-value kernel argument as they
//    were at capture: what changes per step must live in device memory
//    (kernels/sgd.h SgdStepScalars, kernels/axpy.h scale_by), and the buffers
//    must not be reallocated while the graph lives;
//  - no host synchronization, allocation or host closure may happen while
//    capturing (CUDA refuses; capturing(stream) lets cudp's scratch allocator
//    fail with a clear message first).
// CUDA devices only; a CPU build, or a CPU stream, fails with a clear error.
// Unverified on silicon: no GPU has run this yet.
#pragma once

#include <utility>
#include <vector>

#include "runtime/context.h"

namespace cudp {

class Stream;

class StreamGraph {
 public:
  StreamGraph() = default;
  ~StreamGraph();
  StreamGraph(StreamGraph&& other) noexcept;
  StreamGraph& operator=(StreamGraph&& other) noexcept;
  StreamGraph(const StreamGraph&) = delete;
  StreamGraph& operator=(const StreamGraph&) = delete;

  void begin_capture(Stream& origin, const std::vector<Stream*>& others);
  void end_capture();
  void launch(Stream& origin);
  bool instantiated() const { return exec_ != nullptr; }
  void reset() noexcept;  // drops the graph (and ends a capture left open)

  // True while work queued on `stream` is being captured (false on a CPU build).
  static bool capturing(CudaStream stream);

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
  CudaStream origin_ = nullptr;
  int device_ = -1;
  std::vector<std::pair<CudaStream, int>> others_;  // each with its GPU
  std::vector<void*> events_;  // cudaEvent_t: the fork, then one join per other stream
};

}  // namespace cudp
