// NetSchedule: an all-reduce over the global devices of several processes, cut
// so that every process sums one part of the elements (a reduce-scatter, then
// an all-gather) while every element sees the reduce order's adds in the SAME
// order as in one process (parallel/reduce_order.h):
//   local_first  edges whose two ends are in one process and whose two values
//                hold only that process's gradients: that process adds them on
//                whole buffers before any transfer (with equal power-of-two
//                device counts, every level inside a process)
//   per_part     the other edges, in the reduce order: process p runs them on
//                part p of the elements (split_range over the processes), on
//                copies of the inputs' part p it received
//   inputs       the devices whose values after local_first feed per_part,
//                ascending, global device 0 (the root) always among them
// Process p then holds the sum of part p and sends it to every process.
// The decision a reader would get wrong: where an add runs never changes its
// bits (fl(a+b) is one value wherever it is computed), so this schedule gives
// the tree's bits while each process adds 1/P of the elements, where the tree
// leaves every process but the root waiting for the root's adds.
#pragma once

#include <vector>

#include "parallel/process_group.h"
#include "parallel/reduce_order.h"

namespace cudp {

struct NetSchedule {
  std::vector<Edge> local_first;
  std::vector<Edge> per_part;
  std::vector<int> inputs;
};

// `levels` over the layout's global devices, rooted at global device 0.
NetSchedule net_schedule(const std::vector<std::vector<Edge>>& levels, const DeviceLayout& layout);

}  // namespace cudp
