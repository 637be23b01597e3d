// Buffers, tensors and host copies on the CPU device.
#include <cstdint>

#include <gtest/gtest.h>

#include "runtime/error.h"
#include "runtime/memory.h"
#include "runtime/shape.h"

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

TEST(Shape, NumelAndName) {
  EXPECT_EQ(shape_numel({1, 2, 3}), 6);
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_str({1, 2, 3}), "1x2x3");
  EXPECT_EQ(shape_str({}), "scalar");
}

TEST(Download, CopiesToTheHostAndReturnsWhenDone) {
  Buffer<float> a(cpu_device(), 6);
  for (size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(i) + 0.5f;
  std::vector<float> host(6, -1.0f);
  download(cpu_context(), host.data(), a.data(), cpu_device(), a.bytes());
  EXPECT_EQ(host, (std::vector<float>{0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f}));
}

TEST(Memory, FillPoisonsWithNaN) {
  Buffer<float> a(cpu_device(), 8);
  fill_bytes(cpu_context(), a.data(), 0xFF, a.bytes());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a.data()[i] != a.data()[i]);
}

}  // namespace
}  // namespace cudp
