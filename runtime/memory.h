// Device memory: raw allocation, filling, and Buffer<T>.
//
// Buffer<T> is a move-only owner of `count` elements on one device. CPU memory
// is 64-byte aligned (one cache line, a full AVX-512 vector). Copies are always
// explicit calls, all in runtime/copy.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "runtime/context.h"
#include "runtime/copy.h"  // every user of a Buffer copies in or out of it

namespace cudp {

void* device_malloc(Device device, std::size_t bytes);  // nullptr for 0 bytes
void device_free(Device device, void* ptr) noexcept;

// Sets every byte of [ptr, ptr + bytes) to `value` (0xFF poisons floats with NaN).
void fill_bytes(const Context& ctx, void* ptr, int value, std::size_t bytes);

template <class T>
class Buffer {
 public:
  Buffer() = default;
  Buffer(Device device, std::size_t count)
      : device_(device), count_(count),
        data_(static_cast<T*>(device_malloc(device, count * sizeof(T)))) {}
  ~Buffer() { device_free(device_, data_); }

  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    Buffer(std::move(other)).swap(*this);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }
  Device device() const { return device_; }

  void swap(Buffer& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(count_, other.count_);
    std::swap(data_, other.data_);
  }

 private:
  Device device_;
  std::size_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace cudp
