// Library errors in the words of the command line.
//
// A library names the parameter it was given ("devices", "drop_last",
// "checkpoint") in a ParameterError (runtime/error.h) and never a flag; here
// the parameter becomes the flag that `cudp` took its value from, so the user
// reads "--devices cpu:0: cpu:N needs ...". A parameter is the flag of the same
// name with '_' as '-', except for the few that this file's table renames.
#pragma once

#include <string>

#include "runtime/error.h"

namespace cudp {

// "drop_last" -> "--drop-last", "checkpoint" -> "--resume".
std::string flag_of_parameter(const std::string& parameter);
// "--flag: message", or "--flag value: message" when the error names the value.
std::string flag_error_message(const ParameterError& error);

}  // namespace cudp
