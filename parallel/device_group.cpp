// DeviceGroup (see device_group.h). Synchronizing drains every stream before
// reporting an error: a half-drained group would leave closures running that
// point at buffers the caller is about to free.
#include "parallel/device_group.h"

#include <exception>

#include "runtime/error.h"

namespace cudp {

std::string LogicalDevice::name() const { return concat("rank ", rank, " (", device.str(), ")"); }

DeviceGroup::DeviceGroup(const std::vector<Device>& devices, uint64_t seed, int threads_per_device)
    : devices_(devices) {
  if (devices.empty()) fail("a device group needs at least one device");
  for (std::size_t r = 0; r < devices.size(); ++r) {
    if (devices[r].kind != devices[0].kind)
      fail("a device group cannot mix CPU and CUDA devices: ", devices[0].str(), " and ",
           devices[r].str());
    ranks_.push_back(std::make_unique<LogicalDevice>(static_cast<int>(r), devices[r], seed + r,
                                                     threads_per_device));
  }
  layout_ = DeviceLayout({size()}, 0);
}

void check_same_device_kind(const std::vector<std::string>& kinds) {
  for (std::size_t p = 1; p < kinds.size(); ++p)
    if (kinds[p] != kinds[0])
      fail_parameter("devices", "every rank must train on the same kind of device: rank 0 has ",
                     kinds[0], " devices, rank ", p, " has ", kinds[p],
                     " (give every rank CPU devices, or a GPU on every host)");
}

void DeviceGroup::join(ProcessGroup& processes) {
  layout_ = gather_layout(processes, size());
  processes_ = &processes;
  // CUDA devices too: the communicator stages their buckets through pinned
  // host memory across processes (communicator_net.cpp), in chunks, where CPU
  // devices send whole buckets. So every process must hold the same kind: a
  // GPU rank's chunks would not match a CPU rank's messages. Every process
  // sees the same list and fails alike.
  check_same_device_kind(processes.all_gather(devices_[0].is_cpu() ? "cpu" : "cuda"));
  for (auto& rank : ranks_) rank->seed += static_cast<uint64_t>(layout_.first());  // seed + global
}

void DeviceGroup::set_math(Math math) {
  for (auto& r : ranks_) r->compute.set_math(math);
}

void DeviceGroup::synchronize() {
  std::exception_ptr first;
  for (auto& rank : ranks_) {
    for (Stream* stream : {&rank->compute, &rank->copy}) {
      try {
        stream->synchronize();
      } catch (...) {
        if (!first) first = std::current_exception();
      }
    }
  }
  if (first) std::rethrow_exception(first);
}

void DeviceGroup::drain() noexcept {
  try {
    synchronize();
  } catch (...) {
  }
}

}  // namespace cudp
