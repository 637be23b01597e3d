// Pinned (page-locked) host memory: PinnedBuffer<T>, a move-only owner of
// `count` elements in host memory that a GPU's copy engine can read and write
// asynchronously (cudaMallocHost). A cudaMemcpyAsync from pageable memory is
// staged by the driver and blocks the host; from pinned memory it does not, so
// staging a bucket through these overlaps its copies with the host's work on
// another chunk (parallel/staged_chunks.h).
//
// The decision a reader would get wrong: where no GPU can run (a CPU-only
// build, or a CUDA build on a machine without a GPU) the memory is plain
// 64-byte aligned host memory, the same bytes to every caller; pinned() says
// which one it got. Either way the pointer is host memory of cpu_device().
#pragma once

#include <cstddef>
#include <utility>

namespace cudp {

void* pinned_malloc(std::size_t bytes, bool* pinned);  // nullptr for 0 bytes
void pinned_free(void* ptr, bool pinned) noexcept;

template <class T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(std::size_t count)
      : count_(count), data_(static_cast<T*>(pinned_malloc(count * sizeof(T), &pinned_))) {}
  ~PinnedBuffer() { pinned_free(data_, pinned_); }
  PinnedBuffer(PinnedBuffer&& other) noexcept { swap(other); }
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    PinnedBuffer(std::move(other)).swap(*this);
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }
  bool pinned() const { return pinned_; }  // false: plain aligned host memory

  void swap(PinnedBuffer& other) noexcept {
    std::swap(count_, other.count_);
    std::swap(data_, other.data_);
    std::swap(pinned_, other.pinned_);
  }

 private:
  std::size_t count_ = 0;
  T* data_ = nullptr;
  bool pinned_ = false;
};

}  // namespace cudp
