// Device: where memory lives and kernels run.
//
// A Device names a physical device: a CPU or GPU `index`. Logical devices (the
// replicas of a data-parallel run) are positions in a device list, so
// `cuda:0,0,0,0` is four logical devices that are all Device{Cuda, 0}, and
// `cpu:4` is Device{Cpu, 0..3}: four CPU devices sharing the host's memory.
#pragma once

#include <string>

namespace cudp {

enum class DeviceKind { Cpu, Cuda };

struct Device {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;

  bool is_cpu() const { return kind == DeviceKind::Cpu; }
  bool is_cuda() const { return kind == DeviceKind::Cuda; }
  std::string str() const;  // "cpu:0", "cuda:1"

  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

inline Device cpu_device(int index = 0) { return {DeviceKind::Cpu, index}; }
inline Device cuda_device(int index) { return {DeviceKind::Cuda, index}; }

}  // namespace cudp
