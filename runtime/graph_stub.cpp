// StreamGraph in a build WITHOUT the CUDA backend: every capture fails with a
// clear error; a CUDA build uses runtime/cuda/graph.cpp instead.
#include "runtime/graph.h"

#if !CUDP_HAVE_CUDA
#include <utility>

#include "runtime/cuda_info.h"

namespace cudp {

StreamGraph::~StreamGraph() = default;
StreamGraph::StreamGraph(StreamGraph&& other) noexcept { *this = std::move(other); }
StreamGraph& StreamGraph::operator=(StreamGraph&& /*other*/) noexcept { return *this; }
void StreamGraph::begin_capture(Stream& /*origin*/, const std::vector<Stream*>& /*others*/) {
  fail_no_cuda_backend("a CUDA graph capture");
}
void StreamGraph::end_capture() { fail_no_cuda_backend("a CUDA graph capture"); }
void StreamGraph::launch(Stream& /*origin*/) { fail_no_cuda_backend("a CUDA graph launch"); }
void StreamGraph::reset() noexcept {}
bool StreamGraph::capturing(CudaStream /*stream*/) { return false; }

}  // namespace cudp
#endif
