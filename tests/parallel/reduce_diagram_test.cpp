// parallel/reduce_diagram.h: the exact text for 1 to 5 devices, tree and star,
// written out by hand from docs/design.md's definition of each order (tree:
// at level l rank r with r % 2^(l+1) == 0 adds rank r + 2^l; star: 1, 2, ...
// in turn; broadcast: the tree's levels reversed, the star's at once).
#include <gtest/gtest.h>

#include "parallel/reduce_diagram.h"

namespace cudp {
namespace {

const char* kBroadcastHead = "; \"a -> b\": a's buffer copied into b\n";
const char* kTreeHead =
    "the tree: a device sends its sum to its parent, and gets the result from it\n";

std::string reduce_head(const char* algorithm, const char* levels) {
  return std::string("reduce into 0 (") + algorithm + "), " + levels +
         "; \"a <- b\": a adds b's buffer\n";
}
std::string broadcast_head(const char* algorithm, const char* levels) {
  return std::string("broadcast from 0 (") + algorithm + "), " + levels + kBroadcastHead;
}

TEST(ReduceDiagram, OneDeviceHasNothingToDraw) {
  EXPECT_EQ(reduce_diagram(1, ReduceAlgorithm::Tree),
            "one device (0): nothing to reduce or broadcast\n");
  EXPECT_EQ(reduce_diagram(1, ReduceAlgorithm::Star, 0, {"cpu:0"}),
            "one device (cpu:0): nothing to reduce or broadcast\n");
}

TEST(ReduceDiagram, TwoDevicesAreOneEdgeEitherWay) {
  for (auto [algorithm, name] :
       {std::pair{ReduceAlgorithm::Tree, "tree"}, std::pair{ReduceAlgorithm::Star, "star"}}) {
    EXPECT_EQ(reduce_diagram(2, algorithm), reduce_head(name, "1 level") + "  level 0:  0 <- 1\n" +
                                                broadcast_head(name, "1 level") +
                                                "  level 0:  0 -> 1\n" + kTreeHead +
                                                "  0\n"
                                                "  `-- 1  reduce level 0, broadcast level 0\n")
        << name;
  }
}

TEST(ReduceDiagram, TreeOfThree) {
  EXPECT_EQ(reduce_diagram(3, ReduceAlgorithm::Tree),
            reduce_head("tree", "2 levels") +
                "  level 0:  0 <- 1\n"
                "  level 1:  0 <- 2\n" +
                broadcast_head("tree", "2 levels") +
                "  level 0:  0 -> 2\n"
                "  level 1:  0 -> 1\n" +
                kTreeHead +
                "  0\n"
                "  |-- 1  reduce level 0, broadcast level 1\n"
                "  `-- 2  reduce level 1, broadcast level 0\n");
}

TEST(ReduceDiagram, TreeOfFour) {
  EXPECT_EQ(reduce_diagram(4, ReduceAlgorithm::Tree),
            reduce_head("tree", "2 levels") +
                "  level 0:  0 <- 1    2 <- 3\n"
                "  level 1:  0 <- 2\n" +
                broadcast_head("tree", "2 levels") +
                "  level 0:  0 -> 2\n"
                "  level 1:  0 -> 1    2 -> 3\n" +
                kTreeHead +
                "  0\n"
                "  |-- 1      reduce level 0, broadcast level 1\n"
                "  `-- 2      reduce level 1, broadcast level 0\n"
                "      `-- 3  reduce level 0, broadcast level 1\n");
}

TEST(ReduceDiagram, TreeOfFive) {
  EXPECT_EQ(reduce_diagram(5, ReduceAlgorithm::Tree),
            reduce_head("tree", "3 levels") +
                "  level 0:  0 <- 1    2 <- 3\n"
                "  level 1:  0 <- 2\n"
                "  level 2:  0 <- 4\n" +
                broadcast_head("tree", "3 levels") +
                "  level 0:  0 -> 4\n"
                "  level 1:  0 -> 2\n"
                "  level 2:  0 -> 1    2 -> 3\n" +
                kTreeHead +
                "  0\n"
                "  |-- 1      reduce level 0, broadcast level 2\n"
                "  |-- 2      reduce level 1, broadcast level 1\n"
                "  |   `-- 3  reduce level 0, broadcast level 2\n"
                "  `-- 4      reduce level 2, broadcast level 0\n");
}

TEST(ReduceDiagram, StarReducesOneAtATimeAndBroadcastsAtOnce) {
  EXPECT_EQ(reduce_diagram(3, ReduceAlgorithm::Star),
            reduce_head("star", "2 levels") +
                "  level 0:  0 <- 1\n"
                "  level 1:  0 <- 2\n" +
                broadcast_head("star", "1 level") + "  level 0:  0 -> 1    0 -> 2\n" + kTreeHead +
                "  0\n"
                "  |-- 1  reduce level 0, broadcast level 0\n"
                "  `-- 2  reduce level 1, broadcast level 0\n");
  EXPECT_EQ(reduce_diagram(4, ReduceAlgorithm::Star),
            reduce_head("star", "3 levels") +
                "  level 0:  0 <- 1\n"
                "  level 1:  0 <- 2\n"
                "  level 2:  0 <- 3\n" +
                broadcast_head("star", "1 level") + "  level 0:  0 -> 1    0 -> 2    0 -> 3\n" +
                kTreeHead +
                "  0\n"
                "  |-- 1  reduce level 0, broadcast level 0\n"
                "  |-- 2  reduce level 1, broadcast level 0\n"
                "  `-- 3  reduce level 2, broadcast level 0\n");
  EXPECT_EQ(reduce_diagram(5, ReduceAlgorithm::Star),
            reduce_head("star", "4 levels") +
                "  level 0:  0 <- 1\n"
                "  level 1:  0 <- 2\n"
                "  level 2:  0 <- 3\n"
                "  level 3:  0 <- 4\n" +
                broadcast_head("star", "1 level") +
                "  level 0:  0 -> 1    0 -> 2    0 -> 3    0 -> 4\n" + kTreeHead +
                "  0\n"
                "  |-- 1  reduce level 0, broadcast level 0\n"
                "  |-- 2  reduce level 1, broadcast level 0\n"
                "  |-- 3  reduce level 2, broadcast level 0\n"
                "  `-- 4  reduce level 3, broadcast level 0\n");
}

TEST(ReduceDiagram, NamesLabelTheDevicesAndAnotherRootLeads) {
  EXPECT_EQ(reduce_diagram(3, ReduceAlgorithm::Tree, 1, {"cpu:0", "cpu:1", "cpu:2"}),
            "reduce into cpu:1 (tree), 2 levels; \"a <- b\": a adds b's buffer\n"
            "  level 0:  cpu:1 <- cpu:2\n"
            "  level 1:  cpu:1 <- cpu:0\n"
            "broadcast from cpu:1 (tree), 2 levels" +
                std::string(kBroadcastHead) +
                "  level 0:  cpu:1 -> cpu:0\n"
                "  level 1:  cpu:1 -> cpu:2\n" +
                kTreeHead +
                "  cpu:1\n"
                "  |-- cpu:2  reduce level 0, broadcast level 1\n"
                "  `-- cpu:0  reduce level 1, broadcast level 0\n");
}

TEST(ReduceDiagram, LevelsThatAreNoTreeGetNoTreePicture) {
  // Two parents for 1: a ring-like order; only its levels are drawn.
  const std::vector<std::vector<Edge>> levels{{Edge{0, 1}}, {Edge{2, 1}}};
  EXPECT_EQ(draw_levels(levels, " <- "), "  level 0:  0 <- 1\n  level 1:  2 <- 1\n");
  // Eleven levels: the numbers line up.
  const std::string star = draw_levels(reduce_levels(12, ReduceAlgorithm::Star), " <- ");
  EXPECT_NE(star.find("  level  0:  0 <- 1\n"), std::string::npos) << star;
  EXPECT_NE(star.find("  level 10:  0 <- 11\n"), std::string::npos) << star;
}

// The ring is no tree: its steps, slice by slice, and who holds which sum.
TEST(ReduceDiagram, TheRingIsDrawnStepByStep) {
  EXPECT_EQ(reduce_diagram(3, ReduceAlgorithm::Ring),
            "the ring: 0 -> 1 -> 2 -> 0, the buffer cut into 3 slices s0..s2\n"
            "reduce-scatter, 2 steps; \"a <- b:s\": a adds slice s of b's buffer\n"
            "  step 0:   0 <- 2:s2  1 <- 0:s0  2 <- 1:s1\n"
            "  step 1:   0 <- 2:s1  1 <- 0:s2  2 <- 1:s0\n"
            "after it device c-1 holds slice c's sum:  2: s0  0: s1  1: s2\n"
            "all-gather (ddp), 2 steps; \"a <- b:s\": a copies slice s of b's buffer\n"
            "  step 0:   0 <- 2:s0  1 <- 0:s1  2 <- 1:s2\n"
            "  step 1:   0 <- 2:s2  1 <- 0:s0  2 <- 1:s1\n"
            "gather (dp): 0 copies each other slice from the device that holds its sum\n"
            "  step 0:   0 <- 2:s0  0 <- 1:s2\n");
  EXPECT_EQ(reduce_diagram(1, ReduceAlgorithm::Ring).rfind("one device", 0), 0u);
}

}  // namespace
}  // namespace cudp
