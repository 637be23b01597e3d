// The reduce order (parallel/reduce_order.h) drawn in ASCII, for a student:
// the reduce level by level, the broadcast level by level, and the tree they
// share, e.g. the binomial tree over 4 devices:
//
//   reduce into 0 (tree), 2 levels; "a <- b": a adds b's buffer
//     level 0:  0 <- 1    2 <- 3
//     level 1:  0 <- 2
//   broadcast from 0 (tree), 2 levels; "a -> b": a's buffer copied into b
//     level 0:  0 -> 2
//     level 1:  0 -> 1    2 -> 3
//   the tree: a device sends its sum to its parent, and gets the result from it
//     0
//     |-- 1      reduce level 0, broadcast level 1
//     `-- 2      reduce level 1, broadcast level 0
//         `-- 3  reduce level 0, broadcast level 1
//
// The edges of one level run at the same time; a level starts when the one
// before it is done. Children are listed in the order they are added.
// The decision a reader would get wrong: the broadcast is NOT always the
// reduce run backwards edge by edge. The tree's is (last level first), but
// the star's is one level, the root to everyone at once, while its reduce is
// N - 1 levels, one device after the other. So both are drawn from their own
// levels, never one derived from the other here.
#pragma once

#include <string>
#include <vector>

#include "parallel/reduce_order.h"

namespace cudp {

// "  level 0:  0 <- 1    2 <- 3\n" per level; `arrow` is " <- " (the receiver
// first) or " -> " (the sender first). `names` (optional) label the devices.
std::string draw_levels(const std::vector<std::vector<Edge>>& levels, const char* arrow,
                        const std::vector<std::string>& names = {});

// The three parts above for `ranks` devices; one device: a line saying there
// is nothing to move.
std::string reduce_diagram(int ranks, ReduceAlgorithm algorithm, int root = 0,
                           const std::vector<std::string>& names = {});

}  // namespace cudp
