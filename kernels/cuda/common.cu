// Host side of kernels/cuda/common.cuh: the multiprocessor-count cache and the
// per-(GPU, stream, host thread) scratch buffers.
//
// The decisions a reader would get wrong:
//  - scratch is keyed by the stream, not only by the GPU. Several logical devices share one
//    GPU (`cuda:0,0,0,0`), each with its own stream, and their ops run concurrently; one
//    buffer per GPU would let two replicas' cross-entropy or conv backward-weight passes
//    overwrite each other's partial sums;
//  - it is keyed by the calling host thread too. The pointer is used after the lock is
//    released (the op launches its kernels with it), so two threads that share a stream
//    (the default stream, say) and one buffer could each see the other free it on growth
//    between taking the pointer and launching. With the thread in the key, only the thread
//    that owns an entry ever reads or replaces it. A thread's buffer outlives the thread; a
//    later thread with the same id inherits it, which is safe: the dead thread's kernels
//    that use it sit on the same stream, ahead of anything the new thread launches;
//  - a buffer never grows while its stream is captured into a CUDA graph (an error: the
//    graph would replay a freed pointer); the trainers warm up with an eager step first;
//  - a buffer grows only after its stream has drained, so no queued kernel still reads the
//    memory being freed. The synchronize and cudaFree run outside the table's lock, so one
//    thread's growth does not stall every other thread's ops.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "kernels/cuda/common.cuh"
#include "kernels/scratch.h"
#include "runtime/graph.h"

namespace cudp::cuda_detail {
namespace {

struct ScratchEntry {
  void* ptr = nullptr;
  std::size_t bytes = 0;
};

using ScratchKey = std::tuple<int, cudaStream_t, std::thread::id>;

std::mutex& scratch_mutex() {
  static std::mutex m;
  return m;
}

// Leaked on purpose: see common.cuh. std::map: references to entries survive insertions.
std::map<ScratchKey, ScratchEntry>& scratch_table() {
  static auto* table = new std::map<ScratchKey, ScratchEntry>();
  return *table;
}

}  // namespace

int multiprocessor_count(int device) {
  constexpr int kMaxDevices = 64;
  static std::atomic<int> cache[kMaxDevices] = {};  // 0 = not asked yet
  const bool cached = device >= 0 && device < kMaxDevices;
  if (cached) {
    const int known = cache[device].load(std::memory_order_relaxed);
    if (known > 0) return known;
  }
  int count = 0;
  CUDP_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  if (count < 1) count = 1;
  if (cached) cache[device].store(count, std::memory_order_relaxed);
  return count;
}

std::atomic<uint64_t>& scratch_generation_counter() {
  static std::atomic<uint64_t> generation{0};
  return generation;
}

void* scratch(const Context& ctx, std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const auto stream = reinterpret_cast<cudaStream_t>(ctx.stream);
  const ScratchKey key{ctx.device.index, stream, std::this_thread::get_id()};
  ScratchEntry old;
  std::size_t grown = 0;
  {
    std::lock_guard<std::mutex> lock(scratch_mutex());
    ScratchEntry& entry = scratch_table()[key];
    if (entry.bytes >= bytes) return entry.ptr;
    // Grow by at least 2x so that a sequence of slightly larger requests does not
    // reallocate every time; round to 256 bytes (cudaMalloc's alignment anyway).
    grown = entry.bytes * 2 > bytes ? entry.bytes * 2 : bytes;
    grown = (grown + 255) / 256 * 256;
    // A graph replays the pointer it captured: growing now would free it (and
    // cudaMalloc is refused while capturing). The trainer warms up eagerly first.
    if (StreamGraph::capturing(ctx.stream))
      fail("kernel scratch on cuda:", ctx.device.index, " would grow from ", entry.bytes, " to ",
           bytes, " bytes during a CUDA graph capture: expected it sized by an eager step at "
           "the same batch size first");
    old = entry;  // taken out: only this thread uses this key, nobody else can see it
    entry = ScratchEntry{};
  }
  CUDP_CUDA_CHECK(cudaSetDevice(ctx.device.index));
  if (old.ptr != nullptr) {
    CUDP_CUDA_CHECK(cudaStreamSynchronize(stream));  // no queued kernel may still use it
    CUDP_CUDA_CHECK(cudaFree(old.ptr));
  }
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, grown);
  if (status != cudaSuccess)
    fail("cannot allocate ", grown, " bytes of kernel scratch on cuda:", ctx.device.index, ": ",
         cudaGetErrorString(status));
  std::lock_guard<std::mutex> lock(scratch_mutex());
  scratch_table()[key] = ScratchEntry{ptr, grown};
  ++scratch_generation_counter();  // a graph that captured the old pointer is now stale
  return ptr;
}

}  // namespace cudp::cuda_detail

namespace cudp {

uint64_t kernel_scratch_generation() { return cuda_detail::scratch_generation_counter().load(); }

}  // namespace cudp
