// Checks that `cudp train` can write its outputs (--save, --log, --trace) before
// it loads data or runs a step, so that a run is never lost to a typo in a path
// at its end. Each check does what the real write will do, on the real folder:
// it creates (and removes) a probe file where the atomic write puts its
// temporary file, or opens the log for appending. It names the flag, the path
// and the reason, e.g. "--save /no/such/w.safetensors: the folder /no/such does
// not exist".
#pragma once

#include <string>
#include <vector>

namespace cudp {

enum class OutputWrite {
  Replace,  // written whole at the end: a temporary file in its folder, renamed over it
  Append,   // opened for appending (a JSON-lines log)
};

struct OutputPath {
  std::string flag;  // "--save": named in the error
  std::string path;  // "" means not asked for: nothing to check
  OutputWrite write = OutputWrite::Replace;
  // Further files the same flag writes next to `path` (e.g. the optimizer state).
  std::vector<std::string> companions;
};

// Throws Error naming the first output that cannot be written, or two outputs
// that name one file.
void check_outputs(const std::vector<OutputPath>& outputs);

}  // namespace cudp
