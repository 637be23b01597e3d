// The one CUDA shim: every CUDA runtime call that runtime/*.cpp needs, behind
// plain C++ declarations, so that no header outside runtime/cuda/ and the .cu
// files includes the CUDA runtime. Only runtime/*.cpp call these.
//
// Every call makes `device` current first: with several GPUs the current device
// is whatever the last caller set. Events and streams travel as void* and
// CudaStream. Errors throw cudp::Error through CUDP_CUDA_CHECK (check.h);
// functions marked noexcept run in destructors and report nothing (the next
// checked call reports a sticky error).
#pragma once

#include <cstddef>
#include <vector>

#include "runtime/context.h"

namespace cudp::cuda_shim {

// Memory (runtime/memory.h, runtime/copy.h).
void* malloc_device(int device, std::size_t bytes);
void free_device(int device, void* ptr) noexcept;
// Pinned host memory (runtime/pinned.h): cudaMallocHost / cudaFreeHost.
void* malloc_host(std::size_t bytes);
void free_host(void* ptr) noexcept;
// Copies between any two devices, at least one of them a GPU (cudaMemcpyDefault
// under unified addressing), queued on ctx's stream when ctx is a CUDA device;
// from a CPU context the copy completes before returning.
void copy(const Context& ctx, void* dst, const void* src, std::size_t bytes);
void fill(const Context& ctx, void* ptr, int value, std::size_t bytes);
void synchronize(const Context& ctx);

// Streams and events (runtime/stream.h).
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

// Peer copies (runtime/copy.h); `stream` is on stream_device's GPU.
void copy_gpu_to_gpu(int dst_device, void* dst, int src_device, const void* src, std::size_t bytes,
                     int stream_device, CudaStream stream);
bool can_access_peer(int device, int peer);
void enable_peer_access(int a, int b);  // both directions, once per pair
std::vector<std::vector<bool>> peer_access_matrix();

}  // namespace cudp::cuda_shim
