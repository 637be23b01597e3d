// Copies between devices (see copy.h). The GPU paths live in the CUDA shim
// (runtime/cuda/shim.cpp); this file picks the path and queues it.
#include "runtime/copy.h"

#include <cstring>

#include "runtime/cuda_info.h"
#include "runtime/error.h"
#include "runtime/stream.h"
#if CUDP_HAVE_CUDA
#include "runtime/cuda/shim.h"
#endif

namespace cudp {

void copy_bytes(const Context& ctx, void* dst, Device dst_device, const void* src,
                Device src_device, std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memmove(dst, src, bytes);
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::copy(ctx, dst, src, bytes);
#else
  (void)ctx;
  fail_no_cuda_backend("copy_bytes");
#endif
}

void download(const Context& ctx, void* host_dst, const void* src, Device src_device,
              std::size_t bytes) {
  copy_bytes(ctx, host_dst, cpu_device(), src, src_device, bytes);
  synchronize(ctx);
}

void upload(const Context& ctx, void* dst, Device dst_device, const void* host_src,
            std::size_t bytes) {
  copy_bytes(ctx, dst, dst_device, host_src, cpu_device(), bytes);
  synchronize(ctx);
}

PeerPath peer_path(Device dst_device, Device src_device) {
  if (dst_device.is_cpu() && src_device.is_cpu()) return PeerPath::HostMemcpy;
  if (dst_device.is_cpu() || src_device.is_cpu()) return PeerPath::HostAndGpu;
  if (dst_device.index == src_device.index) return PeerPath::SameGpu;
#if CUDP_HAVE_CUDA
  if (cuda_shim::can_access_peer(dst_device.index, src_device.index) &&
      cuda_shim::can_access_peer(src_device.index, dst_device.index))
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

void copy_async(Stream& stream, void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes) {
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
    cuda_shim::copy_gpu_to_gpu(dst_device.index, dst, src_device.index, src, bytes, on.index,
                               stream.cuda_stream());
  });
#else
  fail_no_cuda_backend("copy_async");
#endif
}

bool direct_access(Device dst_device, Device src_device) {
  const PeerPath path = peer_path(dst_device, src_device);
  if (path == PeerPath::HostMemcpy || path == PeerPath::SameGpu) return true;
  if (path != PeerPath::PeerToPeer) return false;
#if CUDP_HAVE_CUDA
  cuda_shim::enable_peer_access(dst_device.index, src_device.index);
#endif
  return true;
}

std::vector<std::vector<bool>> peer_access_matrix() {
#if CUDP_HAVE_CUDA
  return cuda_shim::peer_access_matrix();
#else
  return {};
#endif
}

}  // namespace cudp
