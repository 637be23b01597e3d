// See reduce_order.h.
#include "parallel/reduce_order.h"

#include <algorithm>

#include "runtime/error.h"

namespace cudp {

ReduceAlgorithm parse_reduce_algorithm(const std::string& text) {
  if (text == "tree") return ReduceAlgorithm::Tree;
  if (text == "star") return ReduceAlgorithm::Star;
  if (text == "ring") return ReduceAlgorithm::Ring;
  fail_parameter("reduce", "expected tree, star or ring, found '", text, "'");
}

const char* reduce_algorithm_name(ReduceAlgorithm algorithm) {
  switch (algorithm) {
    case ReduceAlgorithm::Tree:
      return "tree";
    case ReduceAlgorithm::Star:
      return "star";
    case ReduceAlgorithm::Ring:
      return "ring";
  }
  return "?";
}

std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root) {
  if (algorithm == ReduceAlgorithm::Ring)
    fail("reduce_levels: a ring reduces slice by slice (ring_steps), not in levels");
  auto real = [&](int v) { return (v + root) % ranks; };  // virtual rank 0 is the root
  std::vector<std::vector<Edge>> levels;
  if (algorithm == ReduceAlgorithm::Star) {
    for (int v = 1; v < ranks; ++v) levels.push_back({Edge{root, real(v)}});
    return levels;
  }
  for (int s = 1; s < ranks; s *= 2) {
    std::vector<Edge> level;
    for (int v = 0; v + s < ranks; v += 2 * s) level.push_back({real(v), real(v + s)});
    levels.push_back(level);
  }
  return levels;
}

std::vector<std::vector<Edge>> broadcast_levels(int ranks, ReduceAlgorithm algorithm, int root) {
  if (algorithm == ReduceAlgorithm::Ring) algorithm = ReduceAlgorithm::Tree;  // copies: no sums
  if (algorithm == ReduceAlgorithm::Star) {
    std::vector<Edge> level;
    for (int v = 1; v < ranks; ++v) level.push_back({(v + root) % ranks, root});
    return level.empty() ? std::vector<std::vector<Edge>>{} : std::vector<std::vector<Edge>>{level};
  }
  std::vector<std::vector<Edge>> levels = reduce_levels(ranks, algorithm, root);
  std::reverse(levels.begin(), levels.end());
  for (auto& level : levels)
    for (Edge& e : level) std::swap(e.to, e.from);
  return levels;
}

int ring_owner(int ranks, int slice) { return (slice + ranks - 1) % ranks; }

std::vector<std::vector<SliceEdge>> ring_steps(int ranks, RingPhase phase) {
  std::vector<std::vector<SliceEdge>> steps;
  if (ranks < 2) return steps;
  if (phase == RingPhase::Gather) {
    std::vector<SliceEdge> step;
    for (int c = 0; c < ranks; ++c)
      if (ring_owner(ranks, c) != 0) step.push_back({0, ring_owner(ranks, c), c});
    steps.push_back(step);
    return steps;
  }
  // Reduce-scatter step s: r adds slice (r-s) of r-1, so slice c starts at
  // rank c (step 0, into c+1) and ends at c-1. All-gather step s: r copies
  // slice (r-s) of r-1, starting from slice r's owner r-1.
  const int first = phase == RingPhase::ReduceScatter ? 1 : 0;
  for (int s = 0; s < ranks - 1; ++s) {
    std::vector<SliceEdge> step;
    for (int r = 0; r < ranks; ++r) {
      const int from = (r + ranks - 1) % ranks;
      step.push_back({r, from, ((r - first - s) % ranks + 2 * ranks) % ranks});
    }
    steps.push_back(step);
  }
  return steps;
}

}  // namespace cudp
