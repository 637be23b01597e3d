// The --devices parser; see device_spec.h for the grammar.
//
// The one decision a reader may get wrong: `cpu:N` is a COUNT of logical CPU
// devices (cpu:4 = four devices), while `cuda:i,j,...` is a LIST of GPU ids,
// with repeats allowed (cuda:0,0 = two logical devices on GPU 0), as the
// parallel layer tests on one GPU.
#include "runtime/device_spec.h"

#include <cctype>

#include "runtime/cuda_info.h"
#include "runtime/error.h"

namespace cudp {
namespace {

// Parses a non-negative decimal integer that must fill `text` entirely.
bool parse_count(const std::string& text, int& value) {
  if (text.empty() || text.size() > 6) return false;
  value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

[[noreturn]] void fail_no_gpu(const std::string& spec) {
  const std::string reason = cuda_unavailable_reason();
  fail_value("devices", spec, "no CUDA GPU is available on this machine",
             reason.empty() ? "" : " (" + reason + ")", "; use cpu or cpu:N instead");
}

}  // namespace

std::vector<Device> parse_device_spec(const std::string& spec) {
  return parse_device_spec(spec, cuda_device_count());
}

std::vector<Device> parse_device_spec(const std::string& spec, int gpu_count) {
  const std::string grammar = "expected cpu, cpu:N, cuda, cuda:I[,J...] or auto";
  if (spec == "auto") {
    std::vector<Device> devices;
    for (int i = 0; i < gpu_count; ++i) devices.push_back(cuda_device(i));
    if (devices.empty()) devices = {cpu_device(0), cpu_device(1)};
    return devices;
  }
  if (spec == "cpu") return {cpu_device(0)};
  if (spec.rfind("cpu:", 0) == 0) {
    int count = 0;
    if (!parse_count(spec.substr(4), count) || count < 1 || count > 1024)
      fail_value("devices", spec, "cpu:N needs a device count N from 1 to 1024, found '",
                 spec.substr(4), "'");
    std::vector<Device> devices;
    for (int i = 0; i < count; ++i) devices.push_back(cpu_device(i));
    return devices;
  }
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (gpu_count == 0) fail_no_gpu(spec);
    if (spec == "cuda") return {cuda_device(0)};
    std::vector<Device> devices;
    const std::string list = spec.substr(5);
    size_t start = 0;
    while (true) {
      const size_t comma = list.find(',', start);
      const std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
      int id = 0;
      if (!parse_count(item, id))
        fail_value("devices", spec, "expected a GPU id, found '", item, "'");
      if (id >= gpu_count)
        fail_value("devices", spec, "GPU ", id, " does not exist; this machine has ", gpu_count,
                   " GPU", gpu_count == 1 ? "" : "s", " (ids 0 to ", gpu_count - 1, ")");
      devices.push_back(cuda_device(id));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return devices;
  }
  fail_value("devices", spec.empty() ? "''" : spec, "unknown device spec; ", grammar);
}

std::string device_list_str(const std::vector<Device>& devices) {
  std::string out;
  for (const auto& d : devices) out += (out.empty() ? "" : ",") + d.str();
  return out;
}

}  // namespace cudp
