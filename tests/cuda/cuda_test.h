// Fixture and transfer helpers of the CUDA kernel tests (tests/cuda/*.cpp).
//
// Every test derives from CudaTest, whose SetUp skips with the reason when no GPU can be used,
// so the `gpu` executable runs everywhere and reports SKIPPED, never a pass, without one.
// The CPU twin (cudp::cpu::<op>) is the oracle; outputs are poisoned with 0xFF bytes (NaN for
// floats, -1 for int32) before a kernel runs, so an element it forgets to write fails.
//
// Outputs are Guarded: kGuard elements of 0xFF bytes follow the last element a kernel may
// write, and download() of a Guarded buffer fails the test (naming the first overwritten
// element) unless they are intact. Every output a test reads back is thereby checked for
// writes past its end, as long as the test downloads it before the next kernel writes it.
// poisoned() makes a guarded write-only output, upload_output() a guarded in-place one
// (axpy's y, SGD's parameters). Inputs come from upload() WITHOUT slack, so that
// compute-sanitizer memcheck still catches a read past their end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/context.h"
#include "runtime/cuda_info.h"
#include "runtime/memory.h"

namespace cudp::test {

constexpr std::size_t kGuard = 16;  // trailing elements no kernel may write

// A device output: `offset` leading elements, `count` elements the kernel writes, then kGuard
// elements of 0xFF bytes. data() is the buffer's start, as Buffer's (pass data() + offset).
template <class T>
struct Guarded {
  Buffer<T> buffer;
  std::size_t offset = 0, count = 0;

  T* data() { return buffer.data(); }
  const T* data() const { return buffer.data(); }
};

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA GPU: " << cuda_unavailable_reason();
    gpu = Context{cuda_device(0), nullptr, 1};
  }

  // A device copy of `host`, with `offset` extra leading elements (to test misaligned
  // pointers, pass at(buffer, offset)).
  template <class T>
  Buffer<T> upload(const std::vector<T>& host, std::size_t offset = 0) {
    Buffer<T> buffer(gpu.device, host.size() + offset);
    if (offset > 0) fill_bytes(gpu, buffer.data(), 0xFF, offset * sizeof(T));
    copy_bytes(gpu, buffer.data() + offset, gpu.device, host.data(), cpu.device,
               host.size() * sizeof(T));
    return buffer;
  }
  // A guarded device output of `count` (+ offset) elements, every byte 0xFF.
  template <class T>
  Guarded<T> poisoned(std::size_t count, std::size_t offset = 0) {
    Guarded<T> out{Buffer<T>(gpu.device, offset + count + kGuard), offset, count};
    fill_bytes(gpu, out.data(), 0xFF, out.buffer.bytes());
    return out;
  }
  // A guarded device copy of `host` at `offset`, for outputs a kernel updates in place.
  template <class T>
  Guarded<T> upload_output(const std::vector<T>& host, std::size_t offset = 0) {
    Guarded<T> out = poisoned<T>(host.size(), offset);
    copy_bytes(gpu, out.data() + offset, gpu.device, host.data(), cpu.device,
               host.size() * sizeof(T));
    return out;
  }
  // `count` elements from device pointer `ptr`, after the stream has drained.
  template <class T>
  std::vector<T> download(const T* ptr, std::size_t count) {
    std::vector<T> host(count);
    copy_bytes(gpu, host.data(), cpu.device, ptr, gpu.device, count * sizeof(T));
    synchronize(gpu);
    return host;
  }
  template <class T>
  std::vector<T> download(const Buffer<T>& buffer, std::size_t offset = 0) {
    return download(buffer.data() + offset, buffer.size() - offset);
  }
  // Elements [offset, out.offset + out.count) of a guarded output; fails the test when a
  // kernel wrote into its guard.
  template <class T>
  std::vector<T> download(const Guarded<T>& out, std::size_t offset = 0) {
    EXPECT_TRUE(guard_intact(out));
    return download(out.data() + offset, out.offset + out.count - offset);
  }
  // Whether the kGuard elements after `out`'s last element still hold 0xFF bytes.
  template <class T>
  ::testing::AssertionResult guard_intact(const Guarded<T>& out) {
    static_assert(sizeof(T) == sizeof(uint32_t), "guards hold 32-bit elements");
    const std::vector<T> guard = download(out.data() + out.offset + out.count, kGuard);
    for (std::size_t i = 0; i < kGuard; ++i) {
      uint32_t bits = 0;
      std::memcpy(&bits, &guard[i], sizeof(bits));
      if (bits != 0xFFFFFFFFu)
        return ::testing::AssertionFailure()
               << "write past the end of an output of " << out.count << " elements (offset "
               << out.offset << "): guard element " << i << " holds bits 0x" << std::hex << bits
               << std::dec;
    }
    return ::testing::AssertionSuccess();
  }

  Context gpu;
  Context cpu = cpu_context();
};

}  // namespace cudp::test
