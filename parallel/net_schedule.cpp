// See net_schedule.h.
#include "parallel/net_schedule.h"

#include "runtime/error.h"

namespace cudp {

NetSchedule net_schedule(const std::vector<std::vector<Edge>>& levels,
                         const DeviceLayout& layout) {
  const int total = layout.total();
  // pure[d]: device d's value so far sums only its own process's devices.
  std::vector<bool> pure(static_cast<std::size_t>(total), true), input(pure.size(), false);
  NetSchedule schedule;
  for (const auto& level : levels) {
    for (const Edge& e : level) {
      if (e.to < 0 || e.to >= total || e.from < 0 || e.from >= total)
        fail("net schedule: an edge ", e.from, " -> ", e.to, " outside ", total, " devices");
      if (pure[e.to] && pure[e.from] && layout.owner(e.to) == layout.owner(e.from)) {
        schedule.local_first.push_back(e);
        continue;
      }
      // Later edges of either end come after this one: they go in parts too.
      if (pure[e.to]) input[e.to] = true;
      if (pure[e.from]) input[e.from] = true;
      pure[e.to] = pure[e.from] = false;
      schedule.per_part.push_back(e);
    }
  }
  input[0] = true;
  for (int d = 0; d < total; ++d)
    if (input[d]) schedule.inputs.push_back(d);
  return schedule;
}

}  // namespace cudp
