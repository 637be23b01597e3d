// The parameter-to-flag table (see flag_errors.h).
#include "apps/flag_errors.h"

#include <map>

namespace cudp {

std::string flag_of_parameter(const std::string& parameter) {
  // Library parameters whose flag has another name.
  static const std::map<std::string, std::string> renamed = {
      {"checkpoint", "resume"},  // load_checkpoint's file: `cudp train --resume PATH`
  };
  const auto it = renamed.find(parameter);
  std::string flag = it != renamed.end() ? it->second : parameter;
  for (char& c : flag)
    if (c == '_') c = '-';
  return "--" + flag;
}

std::string flag_error_message(const ParameterError& error) {
  return flag_of_parameter(error.parameter()) + (error.value().empty() ? "" : " " + error.value()) +
         ": " + error.message();
}

}  // namespace cudp
