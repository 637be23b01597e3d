// Buffers, tensors and host copies on the CPU device.
#include <cstdint>

#include <gtest/gtest.h>

#include "runtime/error.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"

namespace cudp {
namespace {

TEST(Buffer, IsAlignedAndMoveOnly) {
  Buffer<float> a(cpu_device(), 1000);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  EXPECT_EQ(a.bytes(), 4000u);
  float* raw = a.data();
  Buffer<float> b(std::move(a));
  EXPECT_EQ(b.data(), raw);
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  Buffer<float> c;
  c = std::move(b);
  EXPECT_EQ(c.data(), raw);
  static_assert(!std::is_copy_constructible_v<Buffer<float>>);
}

TEST(Buffer, ZeroElementsAllocatesNothing) {
  Buffer<int32_t> empty(cpu_device(), 0);
  EXPECT_EQ(empty.data(), nullptr);
}

TEST(Tensor, HostRoundTripAndShape) {
  Tensor t = from_host({1, 2, 3, 4, 5, 6}, {1, 2, 3});
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(shape_str(t.shape()), "1x2x3");
  Tensor u = copy_to(t, cpu_device());
  EXPECT_NE(u.data(), t.data());
  EXPECT_EQ(to_host(u), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Tensor, BadShapesAreRefused) {
  EXPECT_THROW(from_host({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(Tensor({2, -1}), Error);
}

TEST(Memory, FillPoisonsWithNaN) {
  Buffer<float> a(cpu_device(), 8);
  fill_bytes(cpu_context(), a.data(), 0xFF, a.bytes());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a.data()[i] != a.data()[i]);
}

}  // namespace
}  // namespace cudp
