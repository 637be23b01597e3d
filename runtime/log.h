// The one way code below apps/ talks to the terminal.
//
// Libraries call log_info/log_warn; the app decides where lines go with
// set_log_sink (the default sink writes to stderr). Tests silence it.
#pragma once

#include <functional>
#include <string>

#include "runtime/error.h"

namespace cudp {

enum class LogLevel { Info, Warn };

using LogSink = std::function<void(LogLevel, const std::string&)>;

void set_log_sink(LogSink sink);
void log_line(LogLevel level, const std::string& line);

template <class... Parts>
void log_info(const Parts&... parts) {
  log_line(LogLevel::Info, concat(parts...));
}
template <class... Parts>
void log_warn(const Parts&... parts) {
  log_line(LogLevel::Warn, concat(parts...));
}

}  // namespace cudp
