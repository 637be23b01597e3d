// Runs the `cudp` command line in-process and keeps what it printed.
// Header-only: only suites that link cudp_app include it.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "apps/cli.h"

namespace cudp::test {

struct CliRun {
  int status;
  std::string out, err;
};

inline CliRun cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int status = run_cli(args, out, err);
  return {status, out.str(), err.str()};
}

}  // namespace cudp::test
