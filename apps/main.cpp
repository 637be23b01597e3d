// The `cudp` binary: everything is in apps/cli.cpp so tests can run it in-process.
#include <iostream>

#include "apps/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return cudp::run_cli(args, std::cout, std::cerr);
}
