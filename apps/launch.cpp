// See launch.h.
#include "apps/launch.h"

#include <sstream>

namespace cudp {

Launch launch_of(const ProcessGroup& processes) {
  Launch launch;
  launch.rank = processes.rank();
  launch.size = processes.size();
  launch.on_host = processes.size() > 1 ? launched_processes_on_host() : 1;
  launch.local_rank = processes.size() > 1 ? launched_local_rank() : 0;
  return launch;
}

namespace {
std::string serialize(const TrainConfig& c) {
  std::string text;
  for (const auto& [flag, value] : c.shared_settings) text += flag + '\n' + value + '\n';
  return text;
}

std::vector<std::pair<std::string, std::string>> parse(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> settings;
  std::istringstream in(text);
  std::string flag, value;
  while (std::getline(in, flag) && std::getline(in, value)) settings.emplace_back(flag, value);
  return settings;
}

std::string shown(const std::string& value) { return value.empty() ? "(default)" : "'" + value + "'"; }
}  // namespace

void check_same_settings(ProcessGroup& processes, const TrainConfig& c) {
  if (processes.size() == 1) return;
  const std::vector<std::string> all = processes.all_gather(serialize(c));
  const auto first = parse(all[0]);
  for (std::size_t p = 1; p < all.size(); ++p) {
    const auto theirs = parse(all[p]);
    for (std::size_t i = 0; i < first.size() || i < theirs.size(); ++i) {
      if (i < first.size() && i < theirs.size() && first[i] == theirs[i]) continue;
      if (i >= first.size() || i >= theirs.size() || first[i].first != theirs[i].first)
        throw EveryRankError(concat("rank ", p, " runs another cudp (its settings list differs "
                                    "from rank 0's): start every rank with the same binary"));
      throw EveryRankError(concat("--", first[i].first, " differs between ranks: rank 0 has ",
                                  shown(first[i].second), ", rank ", p, " has ",
                                  shown(theirs[i].second),
                                  "; start every rank with the same settings"));
    }
  }
}

std::string describe_processes(ProcessGroup& processes, const DeviceGroup& group) {
  std::string mine = processes.host() + " ";
  for (int r = 0; r < group.size(); ++r) mine += (r ? "," : "") + group[r].device.str();
  const std::vector<std::string> all = processes.all_gather(mine);
  const DeviceLayout& layout = group.layout();
  std::string out = concat(processes.size(), " ranks (MPI), ", layout.total(),
                           " devices in one global order:");
  if (group[0].device.is_cuda())  // GPU buckets: staged through pinned host memory, in chunks
    out += concat("\n              GPU buckets staged through pinned host memory (MPI ",
                  processes.cuda_aware() ? "reports CUDA support, unused" : "without CUDA support",
                  "; unverified on GPUs)");
  for (int p = 0; p < processes.size(); ++p) {
    const std::string& line = all[static_cast<std::size_t>(p)];
    const auto space = line.rfind(' ');
    const int first = layout.first_of(p), last = first + layout.count(p) - 1;
    out += concat("\n              rank ", p, " on ", line.substr(0, space), ": ",
                  line.substr(space + 1), " = global ", first, first == last ? "" : concat("-", last));
  }
  return out;
}

std::string rank_path(const std::string& path, int rank) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return concat(path, ".rank", rank);
  return concat(path.substr(0, dot), ".rank", rank, path.substr(dot));
}

void barrier(ProcessGroup& processes) {
  if (processes.size() > 1) processes.all_gather("");
}

}  // namespace cudp
