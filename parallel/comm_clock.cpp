// CommClock (see comm_clock.h): marks in, exposed and moved milliseconds out.
#include "parallel/comm_clock.h"

#include <cstring>

namespace cudp {

Activity activity_of(const char* span_name, const TraceArgs& args) {
  for (const char* moves : {"copy", "peer_add", "add"})
    if (std::strcmp(span_name, moves) == 0)
      return args.src >= 0 && args.dst >= 0 && args.src != args.dst ? Activity::Movement
                                                                     : Activity::None;
  for (const char* computes : {"loss", "sgd"})
    if (std::strcmp(span_name, computes) == 0) return Activity::Compute;
  for (const char* layer : {"forward/", "backward/"})
    if (std::strncmp(span_name, layer, std::strlen(layer)) == 0) return Activity::Compute;
  return Activity::None;  // waits (join, scatter, net_wait, ...) and the spans around others
}

void CommClock::add(Activity activity, TimeMark begin, TimeMark end) {
  if (activity == Activity::None) return;
  auto& to = activity == Activity::Movement ? movement_ : compute_;
  to.emplace_back(std::move(begin), std::move(end));
}

void CommClock::add_net(double begin_us, double end_us) {
  std::lock_guard<std::mutex> lock(net_mutex_);
  net_.push_back({begin_us, end_us});
}

CommClock::Step CommClock::take() {
  auto intervals = [](const std::vector<std::pair<TimeMark, TimeMark>>& marks) {
    std::vector<Interval> out;
    out.reserve(marks.size());
    for (const auto& [begin, end] : marks)
      out.push_back({begin.microseconds(), end.microseconds()});
    return out;
  };
  std::vector<Interval> net;
  {
    std::lock_guard<std::mutex> lock(net_mutex_);
    net.swap(net_);
  }
  const std::vector<Interval> compute = intervals(compute_);
  std::vector<Interval> moved = intervals(movement_);
  moved.insert(moved.end(), net.begin(), net.end());
  Step step;
  step.comm.moved_ms = covered_us(moved) / 1000;
  step.comm.exposed_ms = covered_us(minus(moved, compute)) / 1000;
  step.net.busy_ms = covered_us(net) / 1000;
  step.net.exposed_ms = covered_us(minus(net, compute)) / 1000;
  movement_.clear();
  compute_.clear();
  return step;
}

void CommClock::discard() {
  movement_.clear();
  compute_.clear();
  std::lock_guard<std::mutex> lock(net_mutex_);
  net_.clear();
}

}  // namespace cudp
