// JsonLine and TrainingLog (see training_log.h).
#include "apps/training_log.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "io/json.h"
#include "runtime/error.h"

namespace cudp {

JsonLine& JsonLine::add(const char* key, double value) {
  char buf[40];
  if (std::isfinite(value))
    std::snprintf(buf, sizeof buf, "%.9g", value);
  else
    std::snprintf(buf, sizeof buf, "null");
  text_ += (text_.size() > 1 ? "," : "") + json::quote(key) + ":" + buf;
  return *this;
}

JsonLine& JsonLine::add(const char* key, int64_t value) {
  text_ += (text_.size() > 1 ? "," : "") + json::quote(key) + ":" + std::to_string(value);
  return *this;
}

JsonLine& JsonLine::add(const char* key, const std::string& value) {
  text_ += (text_.size() > 1 ? "," : "") + json::quote(key) + ":" + json::quote(value);
  return *this;
}

JsonLine& JsonLine::add_bool(const char* key, bool value) {
  text_ += (text_.size() > 1 ? "," : "") + json::quote(key) + ":" + (value ? "true" : "false");
  return *this;
}

TrainingLog::TrainingLog(const std::string& path) : path_(path) {
  if (path.empty()) return;
  out_.open(path, std::ios::app);
  if (!out_) fail("--log ", path, ": cannot open for appending: ", std::strerror(errno));
}

void TrainingLog::write(const JsonLine& line) {
  if (path_.empty()) return;
  out_ << line.str() << '\n' << std::flush;
  if (!out_) fail("--log ", path_, ": write failed");
}

}  // namespace cudp
