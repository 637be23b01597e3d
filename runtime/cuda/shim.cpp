// The CUDA shim (see shim.h): memory, streams, events and peer copies.
//
// Peer copies: cudaMemcpyPeerAsync between two GPUs once cudaDeviceCanAccessPeer
// says yes and cudaDeviceEnablePeerAccess has run (once per ordered pair, both
// directions, under a mutex); a plain device-to-device cudaMemcpyAsync when both
// logical devices are the same GPU; otherwise staged through pinned host memory
// in pieces of kStagingBytes: device-to-host then host-to-device on the SAME
// stream, so one staging buffer per stream is never overwritten while in use.
// The decision a reader would get wrong: nothing here synchronizes a device;
// order between streams comes from the events the caller records and waits on.
#include "runtime/cuda/shim.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "runtime/stream.h"
#include "runtime/cuda/check.h"
#include "runtime/cuda_info.h"

namespace cudp::cuda_shim {
namespace {

constexpr std::size_t kStagingBytes = std::size_t{4} << 20;

std::mutex registry_mutex;

struct Base {
  cudaEvent_t event = nullptr;
  double host_us = 0;
};

// One pinned staging buffer per stream that ever needed one; kept until exit.
void* staging_for(CudaStream stream) {
  static std::map<CudaStream, void*> buffers;
  std::lock_guard<std::mutex> lock(registry_mutex);
  void*& buffer = buffers[stream];
  if (!buffer) CUDP_CUDA_CHECK(cudaMallocHost(&buffer, kStagingBytes));
  return buffer;
}

}  // namespace

void* malloc_device(int device, std::size_t bytes) {
  if (bytes == 0) return nullptr;
  CUDP_CUDA_CHECK(cudaSetDevice(device));
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status != cudaSuccess)
    fail("cannot allocate ", bytes, " bytes on cuda:", device, ": ", cudaGetErrorString(status));
  return ptr;
}

void free_device(int device, void* ptr) noexcept {
  if (ptr == nullptr) return;
  cudaSetDevice(device);
  cudaFree(ptr);  // a destructor never throws; a failing free is reported by the next call
}

void* malloc_host(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* ptr = nullptr;
  const cudaError_t status = cudaMallocHost(&ptr, bytes);
  if (status != cudaSuccess)
    fail("cannot allocate ", bytes, " bytes of pinned host memory: ", cudaGetErrorString(status));
  return ptr;
}

void free_host(void* ptr) noexcept {
  if (ptr != nullptr) cudaFreeHost(ptr);  // never throws; the next checked call reports
}

void copy(const Context& ctx, void* dst, const void* src, std::size_t bytes) {
  if (bytes == 0) return;
  if (ctx.device.is_cuda()) {
    CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
    CUDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, ctx.stream));
  } else {
    CUDP_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
  }
}

void fill(const Context& ctx, void* ptr, int value, std::size_t bytes) {
  if (bytes == 0) return;
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  CUDP_CUDA_CHECK(cudaMemsetAsync(ptr, value, bytes, ctx.stream));
}

void synchronize(const Context& ctx) {
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  CUDP_CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
}

void enable_peer_access(int a, int b) {
  static std::set<std::pair<int, int>> enabled;
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    if (!enabled.insert({from, to}).second) continue;
    CUDP_CUDA_CHECK(cudaSetDevice(from));
    const cudaError_t status = cudaDeviceEnablePeerAccess(to, 0);
    if (status == cudaErrorPeerAccessAlreadyEnabled) {
      cudaGetLastError();  // not sticky; someone else enabled it
    } else {
      CUDP_CUDA_CHECK(status);
    }
  }
}

void set_device(int device) { CUDP_CUDA_CHECK(cudaSetDevice(device)); }

CudaStream create_stream(int device) {
  set_device(device);
  cudaStream_t stream = nullptr;
  CUDP_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return stream;
}

void destroy_stream(int device, CudaStream stream) noexcept {
  cudaSetDevice(device);
  cudaStreamSynchronize(stream);  // errors are reported by the next checked call
  cudaStreamDestroy(stream);
}

void synchronize_stream(int device, CudaStream stream) {
  set_device(device);
  CUDP_CUDA_CHECK(cudaStreamSynchronize(stream));
}

// Each GPU's base event is recorded (and its host time read) before the first
// timing event of that GPU exists, so every mark comes after its base and
// cudaEventElapsedTime never goes negative.
namespace {
Base base_for(int device) {
  static std::map<int, Base> bases;
  std::lock_guard<std::mutex> lock(registry_mutex);
  Base& b = bases[device];
  if (!b.event) {
    set_device(device);
    CUDP_CUDA_CHECK(cudaEventCreate(&b.event));
    CUDP_CUDA_CHECK(cudaEventRecord(b.event, nullptr));
    CUDP_CUDA_CHECK(cudaEventSynchronize(b.event));
    b.host_us = host_microseconds();
  }
  return b;
}
}  // namespace

void* create_event(int device, bool timing) {
  if (timing) base_for(device);
  set_device(device);
  cudaEvent_t event = nullptr;
  CUDP_CUDA_CHECK(
      cudaEventCreateWithFlags(&event, timing ? cudaEventDefault : cudaEventDisableTiming));
  return event;
}

void destroy_event(void* event) noexcept { cudaEventDestroy(static_cast<cudaEvent_t>(event)); }

void record_event(void* event, int device, CudaStream stream) {
  set_device(device);
  CUDP_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), stream));
}

void wait_event(CudaStream stream, int device, void* event) {
  set_device(device);
  CUDP_CUDA_CHECK(cudaStreamWaitEvent(stream, static_cast<cudaEvent_t>(event), 0));
}

void synchronize_event(void* event) {
  CUDP_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

double event_microseconds(void* event, int device) {
  const Base base = base_for(device);
  float ms = 0;
  CUDP_CUDA_CHECK(cudaEventElapsedTime(&ms, base.event, static_cast<cudaEvent_t>(event)));
  return base.host_us + 1000.0 * ms;
}

bool can_access_peer(int device, int peer) {
  if (device == peer) return true;
  int yes = 0;
  CUDP_CUDA_CHECK(cudaDeviceCanAccessPeer(&yes, device, peer));
  return yes != 0;
}

std::vector<std::vector<bool>> peer_access_matrix() {
  const int n = cuda_device_count();
  std::vector<std::vector<bool>> matrix(n, std::vector<bool>(n, false));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) matrix[i][j] = can_access_peer(i, j);
  return matrix;
}

void copy_gpu_to_gpu(int dst_device, void* dst, int src_device, const void* src, std::size_t bytes,
                     int stream_device, CudaStream stream) {
  if (bytes == 0) return;
  if (dst_device == src_device) {
    set_device(stream_device);
    CUDP_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
    return;
  }
  if (can_access_peer(dst_device, src_device) && can_access_peer(src_device, dst_device)) {
    enable_peer_access(dst_device, src_device);
    set_device(stream_device);
    CUDP_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, stream));
    return;
  }
  // No peer access: through pinned host memory, piece by piece on this one stream.
  char* staging = static_cast<char*>(staging_for(stream));
  set_device(stream_device);
  for (std::size_t done = 0; done < bytes; done += kStagingBytes) {
    const std::size_t piece = std::min(kStagingBytes, bytes - done);
    CUDP_CUDA_CHECK(cudaMemcpyAsync(staging, static_cast<const char*>(src) + done, piece,
                                    cudaMemcpyDeviceToHost, stream));
    CUDP_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + done, staging, piece,
                                    cudaMemcpyHostToDevice, stream));
  }
}

}  // namespace cudp::cuda_shim
