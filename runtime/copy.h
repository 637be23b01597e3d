// Every copy of bytes between devices, host memory included: one API.
//
//   copy_bytes(ctx, dst, dst_device, src, src_device, bytes)
//       on ctx's stream: CPU <-> CPU is a memmove done at once; anything with a
//       GPU is cudaMemcpyAsync on ctx.stream (a CPU context: done on return).
//   download(ctx, host_dst, src, src_device, bytes)
//       copy_bytes to host memory, then wait for ctx's stream: the host reads
//       host_dst next (and everything queued on ctx before it is done too).
//   upload(ctx, dst, dst_device, host_src, bytes)
//       copy_bytes from host memory, then wait: host_src may die on return.
//   copy_async(stream, dst, dst_device, src, src_device, bytes)
//       QUEUED on a Stream (runtime/stream.h), returns at once. The path
//       depends on the two devices:
//         CPU -> CPU              memcpy, run by the stream's worker thread
//         GPU i -> GPU i          device-to-device (logical devices on one GPU)
//         GPU i -> GPU j, peer    cudaMemcpyPeerAsync, after cudaDeviceCanAccessPeer
//                                 and cudaDeviceEnablePeerAccess (once per pair)
//         GPU i -> GPU j, no peer staged through pinned host memory, same stream
//         host <-> GPU            cudaMemcpyAsync (the scatter of a host batch)
// The decision a reader would get wrong: copy_async never orders itself against
// other streams. The caller makes `stream` wait for the source to be ready and
// the consumer wait for `stream` (Stream::wait, wait_for); nothing in cudp
// synchronizes a whole device.
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/context.h"

namespace cudp {

class Stream;

void copy_bytes(const Context& ctx, void* dst, Device dst_device, const void* src,
                Device src_device, std::size_t bytes);
void download(const Context& ctx, void* host_dst, const void* src, Device src_device,
              std::size_t bytes);
void upload(const Context& ctx, void* dst, Device dst_device, const void* host_src,
            std::size_t bytes);
void copy_async(Stream& stream, void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes);

enum class PeerPath { HostMemcpy, SameGpu, PeerToPeer, StagedThroughHost, HostAndGpu };
PeerPath peer_path(Device dst_device, Device src_device);
const char* peer_path_name(PeerPath path);

// True when work on dst's device can load src's memory in place: two CPU
// devices (one address space), the same GPU, or two GPUs with peer access
// (enabled here, once per pair).
bool direct_access(Device dst_device, Device src_device);

// [i][j]: GPU i can read GPU j's memory directly; empty without a GPU.
std::vector<std::vector<bool>> peer_access_matrix();

}  // namespace cudp
