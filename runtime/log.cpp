// Logger sink storage; see log.h.
#include "runtime/log.h"

#include <cstdio>
#include <mutex>

namespace cudp {
namespace {
std::mutex sink_mutex;
LogSink& sink() {
  static LogSink s = [](LogLevel level, const std::string& line) {
    std::fprintf(stderr, "%s%s\n", level == LogLevel::Warn ? "warning: " : "", line.c_str());
  };
  return s;
}
}  // namespace

void set_log_sink(LogSink new_sink) {
  std::lock_guard<std::mutex> lock(sink_mutex);
  sink() = std::move(new_sink);
}

void log_line(LogLevel level, const std::string& line) {
  std::lock_guard<std::mutex> lock(sink_mutex);
  if (sink()) sink()(level, line);
}

}  // namespace cudp
