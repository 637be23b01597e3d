// StreamGraph (runtime/graph.h) over the CUDA runtime's stream capture.
//
// The capture mode is cudaStreamCaptureModeThreadLocal: this host thread may
// not call unsafe APIs (cudaMalloc, a synchronize) while capturing, other
// threads (a CPU device's workers) may. Unverified on silicon.
#include <cuda_runtime_api.h>

#include <utility>

#include "runtime/cuda/check.h"
#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/stream.h"

namespace cudp {
namespace {

cudaStream_t raw(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

cudaEvent_t new_event() {
  cudaEvent_t e = nullptr;
  CUDP_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

CudaStream cuda_stream_of(Stream& s, const char* role) {
  if (!s.device().is_cuda() || s.cuda_stream() == nullptr)
    fail("CUDA graph: expected a CUDA stream for the ", role, ", found one on ", s.device().str());
  return s.cuda_stream();
}

}  // namespace

StreamGraph::~StreamGraph() { reset(); }

StreamGraph::StreamGraph(StreamGraph&& other) noexcept { *this = std::move(other); }

StreamGraph& StreamGraph::operator=(StreamGraph&& other) noexcept {
  if (this == &other) return *this;
  reset();
  std::swap(graph_, other.graph_);
  std::swap(exec_, other.exec_);
  std::swap(origin_, other.origin_);
  std::swap(device_, other.device_);
  std::swap(others_, other.others_);
  std::swap(events_, other.events_);
  return *this;
}

void StreamGraph::reset() noexcept {
  if (origin_ != nullptr && device_ >= 0) {
    cudaSetDevice(device_);
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(raw(origin_), &status) == cudaSuccess &&
        status != cudaStreamCaptureStatusNone) {
      cudaGraph_t left = nullptr;  // a capture abandoned by an exception
      cudaStreamEndCapture(raw(origin_), &left);
      if (left) cudaGraphDestroy(left);
    }
  }
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
  for (void* e : events_) cudaEventDestroy(static_cast<cudaEvent_t>(e));
  exec_ = graph_ = nullptr;
  events_.clear();
  others_.clear();
  origin_ = nullptr;
  device_ = -1;
}

void StreamGraph::begin_capture(Stream& origin, const std::vector<Stream*>& others) {
  reset();
  origin_ = cuda_stream_of(origin, "capture's origin");
  device_ = origin.device().index;
  for (Stream* s : others)
    if (s != &origin)
      others_.emplace_back(cuda_stream_of(*s, "capture's other streams"), s->device().index);
  CUDP_CUDA_CHECK(cudaSetDevice(device_));
  CUDP_CUDA_CHECK(cudaStreamBeginCapture(raw(origin_), cudaStreamCaptureModeThreadLocal));
  cudaEvent_t fork = new_event();
  events_.push_back(fork);
  CUDP_CUDA_CHECK(cudaEventRecord(fork, raw(origin_)));
  // A stream may wait on another GPU's event: the fork is recorded on the origin's GPU.
  for (const auto& [s, device] : others_) CUDP_CUDA_CHECK(cudaStreamWaitEvent(raw(s), fork, 0));
}

void StreamGraph::end_capture() {
  if (origin_ == nullptr) fail("CUDA graph: end_capture without begin_capture");
  for (const auto& [s, device] : others_) {  // every forked stream joins back, or capture fails
    // An event is recorded on a stream of its own GPU: created there, waited on from the origin.
    CUDP_CUDA_CHECK(cudaSetDevice(device));
    cudaEvent_t join = new_event();
    events_.push_back(join);
    CUDP_CUDA_CHECK(cudaEventRecord(join, raw(s)));
    CUDP_CUDA_CHECK(cudaStreamWaitEvent(raw(origin_), join, 0));
  }
  CUDP_CUDA_CHECK(cudaSetDevice(device_));
  cudaGraph_t graph = nullptr;
  CUDP_CUDA_CHECK(cudaStreamEndCapture(raw(origin_), &graph));
  graph_ = graph;
  cudaGraphExec_t exec = nullptr;
  CUDP_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  exec_ = exec;
}

void StreamGraph::launch(Stream& origin) {
  if (exec_ == nullptr) fail("CUDA graph: launch before a capture was instantiated");
  CUDP_CUDA_CHECK(cudaSetDevice(origin.device().index));
  CUDP_CUDA_CHECK(
      cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), raw(cuda_stream_of(origin, "launch"))));
}

bool StreamGraph::capturing(CudaStream stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(raw(stream), &status) != cudaSuccess) return false;
  return status != cudaStreamCaptureStatusNone;
}

}  // namespace cudp
