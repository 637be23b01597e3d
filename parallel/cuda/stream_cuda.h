// CUDA side of parallel/stream.h and parallel/peer.h; only parallel/*.cpp call these.
//
// Every call makes `device` current first: with several GPUs the current device
// is whatever the last caller set. Events and streams travel as void* and
// CudaStream so that no header outside parallel/cuda/ includes the CUDA runtime.
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/context.h"

namespace cudp::parallel_cuda {

void set_device(int device);
CudaStream create_stream(int device);                         // non-blocking stream
void destroy_stream(int device, CudaStream stream) noexcept;  // after draining it
void synchronize_stream(int device, CudaStream stream);

void* create_event(int device, bool timing);
void destroy_event(void* event) noexcept;
void record_event(void* event, int device, CudaStream stream);
void wait_event(CudaStream stream, int device, void* event);
void synchronize_event(void* event);
// A completed timing event as microseconds on the host's time origin: each GPU
// gets a base event, recorded and synchronized once, whose host time is known.
double event_microseconds(void* event, int device);

// copy_peer's GPU paths (see parallel/peer.h); `stream` is on dst_device's GPU.
void copy_gpu_to_gpu(int dst_device, void* dst, int src_device, const void* src, std::size_t bytes,
                     int stream_device, CudaStream stream);
bool can_access_peer(int device, int peer);
void enable_peer_access(int a, int b);  // both directions, once per pair
std::vector<std::vector<bool>> peer_access_matrix();

}  // namespace cudp::parallel_cuda
