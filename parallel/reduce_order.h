// The order of the sums: which rank adds whose buffer, level by level.
//
//   tree  binomial: at level l (s = 2^l) rank r with r % 2s == 0 and r+s < M
//         receives rank r+s's buffer and adds it; ceil(log2 M) levels, any M.
//         Broadcast runs the levels in reverse. Ranks are taken relative to root.
//   star  reduce: every rank in turn into the root (PyTorch's path without
//         NCCL); broadcast: the root to every rank at once.
//   ring  the buffer cut into M slices (split_range); a reduce-scatter of M-1
//         steps, at step s rank r adding slice (r-s) mod M of rank r-1 into its
//         own, after which rank (c-1) mod M holds slice c's sum, begun at rank
//         c: ((x_c + x_c+1) + ...) + x_c-1. Then an all-gather of M-1 steps
//         (ddp), at step s rank r copying slice (r-s) mod M from rank r-1; or a
//         gather of the M-1 other slices to rank 0 (a reduce, dp). Each rank
//         sends and receives 2(M-1)/M of the buffer, the tree's root log2(M)
//         whole buffers. It is ZeRO's and FSDP's building block: after the
//         reduce-scatter each rank holds the sum of one slice only. Broadcast
//         moves no sums, and runs the tree's levels.
// The decision a reader would get wrong: the summation order depends only on
// M and the algorithm, never on chunk sizes, parts or timing, so a result is
// bitwise reproducible; tree, star and ring differ in the last bits.
#pragma once

#include <string>
#include <vector>

namespace cudp {

enum class ReduceAlgorithm { Tree, Star, Ring };
// "tree", "star" or "ring"; otherwise a ParameterError for "reduce".
ReduceAlgorithm parse_reduce_algorithm(const std::string& text);
const char* reduce_algorithm_name(ReduceAlgorithm algorithm);

struct Edge {
  int to, from;  // `to` receives `from`'s buffer
};
// The edges level by level; the edges of one level run concurrently. Tree
// and star; a ring's reduce is ring_steps(), its broadcast the tree's levels.
std::vector<std::vector<Edge>> reduce_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);
std::vector<std::vector<Edge>> broadcast_levels(int ranks, ReduceAlgorithm algorithm, int root = 0);

// One hop of the ring: `to` receives slice `slice` of `from`'s buffer.
struct SliceEdge {
  int to, from, slice;
};
enum class RingPhase { ReduceScatter, AllGather, Gather };
// The hops step by step; the hops of one step run concurrently and touch
// different slices. ReduceScatter and AllGather: M-1 steps of M hops (none for
// M < 2); Gather: one step, rank 0 receiving slice c from ring_owner(M, c).
std::vector<std::vector<SliceEdge>> ring_steps(int ranks, RingPhase phase);
// The rank that holds slice c's sum after the reduce-scatter.
int ring_owner(int ranks, int slice);

}  // namespace cudp
