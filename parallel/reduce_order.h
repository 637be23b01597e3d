// The order of the sums: which rank adds whose buffer, level by level.
//
//   tree  binomial: at level l (s = 2^l) rank r with r % 2s == 0 and r+s < M
//         receives rank r+s's buffer and adds it; ceil(log2 M) levels, any M.
//         Broadcast runs the levels in reverse. Ranks are taken relative to root.
//   star  reduce: every rank in turn into the root (PyTorch's path without
//         NCCL); broadcast: the root to every rank at once.
// The decision a reader would get wrong: the summation order depends only on
// M and the algorithm, never on chunk sizes, parts or timing, so a result is
// bitwise reproducible; tree and star differ in the last bits.
#pragma once

#include <string>
#include <vector>

namespace cudp {

enum class ReduceAlgorithm { Tree, Star };
// "tree" or "star"; otherwise a ParameterError for "reduce".
ReduceAlgorithm parse_reduce_algorithm(const std::string& text);
const char* reduce_algorithm_name(ReduceAlgorithm algorithm);

struct Edge {
  int to, from;  // `to` receives `from`'s buffer
};
// The edges level by level; the edges of one level run concurrently.
std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);
std::vector<std::vector<Edge>> broadcast_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);

}  // namespace cudp
