// libFuzzer: the --devices parser (runtime/device_spec.h) on arbitrary text,
// as machines with 0, 1, 2 and 8 GPUs would read it. See fuzz/README.md.
//
// Beyond "no crash": an accepted spec gives at least one device, CPU devices
// numbered 0..n-1 (at most 1024), GPU ids that exist, and a list that the
// canonical spec of the same devices ("cpu:n", "cuda:i,j,...") gives again.
#include <string>
#include <vector>

#include "fuzz/fuzz_common.h"
#include "runtime/device_spec.h"

namespace {

using cudp::Device;

std::string canonical_spec(const std::vector<Device>& devices) {
  if (devices[0].is_cpu()) return "cpu:" + std::to_string(devices.size());
  std::string spec = "cuda:";
  for (size_t i = 0; i < devices.size(); ++i)
    spec += (i ? "," : "") + std::to_string(devices[i].index);
  return spec;
}

void check(const std::string& spec, int gpus) {
  const std::vector<Device> devices = cudp::parse_device_spec(spec, gpus);
  CUDP_FUZZ_EXPECT(!devices.empty(), "'", spec, "' with ", gpus, " GPUs gave no device");
  const bool cpu = devices[0].is_cpu();
  CUDP_FUZZ_EXPECT(!cpu || devices.size() <= 1024, "'", spec, "': ", devices.size(),
                   " CPU devices");
  for (size_t i = 0; i < devices.size(); ++i) {
    const Device& d = devices[i];
    CUDP_FUZZ_EXPECT(d.is_cpu() == cpu, "'", spec, "' mixes CPU and GPU devices");
    if (cpu)
      CUDP_FUZZ_EXPECT(d.index == static_cast<int>(i), "'", spec, "': CPU device ", i, " is ",
                       d.str());
    else
      CUDP_FUZZ_EXPECT(d.index >= 0 && d.index < gpus, "'", spec, "': GPU ", d.index, " of ", gpus);
  }
  const std::string again = canonical_spec(devices);
  CUDP_FUZZ_EXPECT(cudp::parse_device_spec(again, gpus) == devices, "'", spec, "' and '", again,
                   "' differ with ", gpus, " GPUs");
  CUDP_FUZZ_EXPECT(!cudp::device_list_str(devices).empty(), "'", spec, "': empty device list");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string spec(reinterpret_cast<const char*>(data), size);
  for (int gpus : {0, 1, 2, 8}) cudp::fuzz::expect_ok_or_error([&] { check(spec, gpus); });
  // The machine's own count (0 in a CPU-only build), as `cudp train` calls it.
  cudp::fuzz::expect_ok_or_error([&] { cudp::parse_device_spec(spec); });
  return 0;
}
