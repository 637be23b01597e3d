// Device specs, as the --devices flag takes them.
//
//   cpu          one CPU device                 cpu:N     N logical CPU devices
//   cuda         GPU 0                          cuda:0,1  GPUs 0 and 1
//   cuda:0,0,0,0 four logical devices on GPU 0  auto      every GPU, else cpu:2
//
// A CUDA spec is checked against the GPUs found at run time: on a machine
// without one (or a CPU-only build) it is an error that says so.
#pragma once

#include <string>
#include <vector>

#include "runtime/device.h"

namespace cudp {

// Parses `spec`; throws a ParameterError for "devices" naming the spec and what
// was wrong (cudp's apps print it as --devices).
std::vector<Device> parse_device_spec(const std::string& spec);

// Same, with the GPU count given (tests use it to play machines they are not).
std::vector<Device> parse_device_spec(const std::string& spec, int gpu_count);

// "cpu:0,cpu:1" style list for logs.
std::string device_list_str(const std::vector<Device>& devices);

}  // namespace cudp
