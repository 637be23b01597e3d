// The parts schedule of an all-reduce across processes (parallel/net_schedule.h):
// run as the communicator runs it (local_first on whole buffers, then per_part
// on each process's part of copies of the inputs), it must give every element
// the bits of the reduce order run directly, for any layout and algorithm.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/net_schedule.h"

namespace cudp {
namespace {

using Values = std::vector<std::vector<float>>;  // [global device][element]

Values random_values(int devices, int n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-12, 12);
  Values v(static_cast<std::size_t>(devices), std::vector<float>(static_cast<std::size_t>(n)));
  for (auto& device : v)  // magnitudes far apart: the order of the adds shows in the bits
    for (float& x : device) x = std::ldexp(mantissa(gen), exponent(gen));
  return v;
}

std::vector<float> direct(Values v, const std::vector<std::vector<Edge>>& levels) {
  for (const auto& level : levels)
    for (const Edge& e : level)
      for (std::size_t i = 0; i < v[0].size(); ++i) v[e.to][i] += v[e.from][i];
  return v[0];
}

// Process p's part: elements [p*n/P, (p+1)*n/P), each process on copies.
std::vector<float> scheduled(Values v, const std::vector<std::vector<Edge>>& levels,
                             const DeviceLayout& layout) {
  const NetSchedule s = net_schedule(levels, layout);
  for (const Edge& e : s.local_first)
    for (std::size_t i = 0; i < v[0].size(); ++i) v[e.to][i] += v[e.from][i];
  const int P = layout.processes(), n = static_cast<int>(v[0].size());
  std::vector<float> sum(v[0].size());
  for (int p = 0; p < P; ++p) {
    Values copies(v.size());
    for (const int d : s.inputs) copies[d] = v[d];  // what process p receives or has
    for (const Edge& e : s.per_part) {
      EXPECT_FALSE(copies[e.to].empty()) << "device " << e.to << " is used but not an input";
      EXPECT_FALSE(copies[e.from].empty()) << "device " << e.from << " is used but not an input";
      if (copies[e.to].empty() || copies[e.from].empty()) return {};
      for (int i = p * n / P; i < (p + 1) * n / P; ++i) copies[e.to][i] += copies[e.from][i];
    }
    for (int i = p * n / P; i < (p + 1) * n / P; ++i) sum[i] = copies[0][i];
  }
  return sum;
}

TEST(NetSchedule, EqualPowerOfTwoCountsReduceInsideEachProcessFirst) {
  const NetSchedule s = net_schedule(reduce_levels(8, ReduceAlgorithm::Tree), DeviceLayout({4, 4}, 1));
  ASSERT_EQ(s.local_first.size(), 6u);  // three levels' edges inside each process
  for (const Edge& e : s.local_first) EXPECT_EQ(e.to / 4, e.from / 4);
  ASSERT_EQ(s.per_part.size(), 1u);
  EXPECT_EQ(s.per_part[0].to, 0);
  EXPECT_EQ(s.per_part[0].from, 4);
  EXPECT_EQ(s.inputs, (std::vector<int>{0, 4}));
}

TEST(NetSchedule, OneDevicePerProcessIsAllInParts) {
  const NetSchedule s = net_schedule(reduce_levels(3, ReduceAlgorithm::Tree), DeviceLayout({1, 1, 1}, 0));
  EXPECT_TRUE(s.local_first.empty());
  EXPECT_EQ(s.per_part.size(), 2u);
  EXPECT_EQ(s.inputs, (std::vector<int>{0, 1, 2}));
}

TEST(NetSchedule, EveryLayoutGivesTheReduceOrdersBits) {
  const std::vector<std::vector<int>> layouts = {
      {1, 1}, {2, 1}, {1, 2}, {2, 2}, {3, 3}, {1, 1, 1}, {3, 1, 2}, {1, 4, 2, 1}, {5, 3}};
  unsigned seed = 1;
  for (const auto& counts : layouts) {
    for (const ReduceAlgorithm algorithm : {ReduceAlgorithm::Tree, ReduceAlgorithm::Star}) {
      const DeviceLayout layout(counts, 0);
      const auto levels = reduce_levels(layout.total(), algorithm);
      const Values v = random_values(layout.total(), 37, seed++);
      const std::vector<float> want = direct(v, levels), got = scheduled(v, levels, layout);
      ASSERT_EQ(got.size(), want.size()) << counts.size() << " processes";
      EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
          << reduce_algorithm_name(algorithm) << " over " << layout.total() << " devices of "
          << counts.size() << " processes";
      if (layout.total() < 3) continue;
      // The values tell orders apart: the edges run backwards give other bits.
      std::vector<std::vector<Edge>> backwards(levels.rbegin(), levels.rend());
      const std::vector<float> other = direct(v, backwards);
      EXPECT_NE(std::memcmp(other.data(), want.data(), want.size() * sizeof(float)), 0);
    }
  }
}

}  // namespace
}  // namespace cudp
