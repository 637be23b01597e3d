// copy_peer: the one way bytes move between logical devices.
//
//   copy_peer(dst_device, dst, src_device, src, bytes, stream)
// queues a copy of `bytes` on `stream` (normally the destination's copy
// stream) and returns at once. The path depends on the two devices:
//   CPU -> CPU              memcpy, run by the stream's worker thread
//   GPU i -> GPU i          cudaMemcpyAsync device-to-device (logical devices on one GPU)
//   GPU i -> GPU j, peer    cudaMemcpyPeerAsync, after cudaDeviceCanAccessPeer and
//                           cudaDeviceEnablePeerAccess (once per pair)
//   GPU i -> GPU j, no peer staged through pinned host memory, on the same stream
//   host <-> GPU            cudaMemcpyAsync (the scatter of a host batch)
// The decision a reader would get wrong: copy_peer never orders itself against
// other streams. The caller makes `stream` wait for the source to be ready and
// makes the consumer wait for `stream` (Stream::wait_for); nothing in parallel/
// ever synchronizes a whole device.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "parallel/stream.h"

namespace cudp {

enum class PeerPath { HostMemcpy, SameGpu, PeerToPeer, StagedThroughHost, HostAndGpu };

PeerPath peer_path(Device dst_device, Device src_device);
const char* peer_path_name(PeerPath path);

void copy_peer(Device dst_device, void* dst, Device src_device, const void* src, std::size_t bytes,
               Stream& stream);

// True when work on dst's device can load src's memory in place: two CPU
// devices (one address space), the same GPU, or two GPUs with peer access
// (enabled here, once per pair).
bool direct_access(Device dst_device, Device src_device);

// [i][j]: GPU i can read GPU j's memory directly; empty without a GPU.
std::vector<std::vector<bool>> peer_access_matrix();

}  // namespace cudp
