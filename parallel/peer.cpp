// copy_peer and the peer-access matrix (see peer.h). The GPU paths live in
// parallel/cuda/stream_cuda.cpp; this file picks the path and queues it.
#include "parallel/peer.h"

#include <cstring>

#include "runtime/error.h"
#include "runtime/memory.h"
#if CUDP_HAVE_CUDA
#include "parallel/cuda/stream_cuda.h"
#endif

namespace cudp {

PeerPath peer_path(Device dst_device, Device src_device) {
  if (dst_device.is_cpu() && src_device.is_cpu()) return PeerPath::HostMemcpy;
  if (dst_device.is_cpu() || src_device.is_cpu()) return PeerPath::HostAndGpu;
  if (dst_device.index == src_device.index) return PeerPath::SameGpu;
#if CUDP_HAVE_CUDA
  if (parallel_cuda::can_access_peer(dst_device.index, src_device.index) &&
      parallel_cuda::can_access_peer(src_device.index, dst_device.index))
    return PeerPath::PeerToPeer;
#endif
  return PeerPath::StagedThroughHost;
}

const char* peer_path_name(PeerPath path) {
  switch (path) {
    case PeerPath::HostMemcpy:
      return "memcpy";
    case PeerPath::SameGpu:
      return "device-to-device";
    case PeerPath::PeerToPeer:
      return "peer-to-peer";
    case PeerPath::StagedThroughHost:
      return "staged through pinned host memory";
    case PeerPath::HostAndGpu:
      return "host-device";
  }
  return "?";
}

void copy_peer(Device dst_device, void* dst, Device src_device, const void* src, std::size_t bytes,
               Stream& stream) {
  if (bytes == 0) return;
  const PeerPath path = peer_path(dst_device, src_device);
  if (path == PeerPath::HostMemcpy) {
    stream.enqueue([dst, src, bytes] { std::memcpy(dst, src, bytes); });
    return;
  }
  if (path == PeerPath::HostAndGpu) {
    const Context ctx = stream.context();
    stream.enqueue([=] { copy_bytes(ctx, dst, dst_device, src, src_device, bytes); });
    return;
  }
#if CUDP_HAVE_CUDA
  const Device on = stream.device();
  CUDP_ASSERT(on.is_cuda());
  stream.enqueue([=, &stream] {
    parallel_cuda::copy_gpu_to_gpu(dst_device.index, dst, src_device.index, src, bytes, on.index,
                                   stream.cuda_stream());
  });
#else
  fail("copy_peer ", src_device.str(), " -> ", dst_device.str(),
       ": this build of cudp has no CUDA backend");
#endif
}

bool direct_access(Device dst_device, Device src_device) {
  const PeerPath path = peer_path(dst_device, src_device);
  if (path == PeerPath::HostMemcpy || path == PeerPath::SameGpu) return true;
  if (path != PeerPath::PeerToPeer) return false;
#if CUDP_HAVE_CUDA
  parallel_cuda::enable_peer_access(dst_device.index, src_device.index);
#endif
  return true;
}

std::vector<std::vector<bool>> peer_access_matrix() {
#if CUDP_HAVE_CUDA
  return parallel_cuda::peer_access_matrix();
#else
  return {};
#endif
}

}  // namespace cudp
