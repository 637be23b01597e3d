// PinnedBuffer on the host: aligned, writable, move-only, nothing for zero
// elements. Where no GPU runs (this test's machines) the memory is not pinned.
#include <cstdint>
#include <type_traits>

#include <gtest/gtest.h>

#include "runtime/cuda_info.h"
#include "runtime/pinned.h"

namespace cudp {
namespace {

TEST(PinnedBuffer, HoldsHostFloatsAndMoves) {
  PinnedBuffer<float> a(1001);
  ASSERT_NE(a.data(), nullptr);
  EXPECT_EQ(a.size(), 1001u);
  EXPECT_EQ(a.bytes(), 4004u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a.data()) % 64, 0u);
  for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(i);
  EXPECT_EQ(a.pinned(), cuda_device_count() > 0);
  float* raw = a.data();
  PinnedBuffer<float> b(std::move(a));
  EXPECT_EQ(b.data(), raw);
  EXPECT_EQ(a.data(), nullptr);
  PinnedBuffer<float> c;
  c = std::move(b);
  EXPECT_EQ(c.data()[1000], 1000.0f);
  static_assert(!std::is_copy_constructible_v<PinnedBuffer<float>>);
}

TEST(PinnedBuffer, ZeroElementsAllocatesNothing) {
  PinnedBuffer<float> empty(0);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_FALSE(empty.pinned());
}

}  // namespace
}  // namespace cudp
