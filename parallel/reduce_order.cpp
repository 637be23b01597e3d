// See reduce_order.h.
#include "parallel/reduce_order.h"

#include <algorithm>

#include "runtime/error.h"

namespace cudp {

ReduceAlgorithm parse_reduce_algorithm(const std::string& text) {
  if (text == "tree") return ReduceAlgorithm::Tree;
  if (text == "star") return ReduceAlgorithm::Star;
  fail_parameter("reduce", "expected tree or star, found '", text, "'");
}

const char* reduce_algorithm_name(ReduceAlgorithm algorithm) {
  return algorithm == ReduceAlgorithm::Tree ? "tree" : "star";
}

std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root) {
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

}  // namespace cudp
