// DeviceGroup: the logical devices of a data-parallel run, from a device list.
//
// Rank r is the r-th device of the list (`cuda:0,0` is two ranks on GPU 0;
// `cpu:4` is four ranks sharing the host's memory). Each rank owns:
//   compute  the stream its kernels run on (layers, loss, adds, SGD);
//   copy     the stream its INCOMING copies run on (copy_async pulls), so that
//            copying chunk i+1 overlaps adding chunk i, as a GPU's copy engine
//            overlaps its SMs;
//   seed     seed + global rank (docs/design.md: each logical device has its own seed).
// On a CPU device each stream is one worker thread, and the ops it runs may
// split their work over `threads` threads (Context::threads, --threads): cpu:2
// on two cores is two devices of one thread each, `cpu` one device of two. Memory is allocated per
// rank with Buffer<T>(group[r].device, n).
// A multi-process run joins the group to its processes (join): its ranks are
// then global devices first()..first()+size()-1 of layout(), which the bucket
// plan and the communicator reduce over; rank r here is global device
// global(r). Alone, the layout is this group's devices and global(r) == r.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "parallel/process_group.h"
#include "runtime/stream.h"

namespace cudp {

struct LogicalDevice {
  LogicalDevice(int rank, Device device, uint64_t seed, int threads)
      : rank(rank),
        device(device),
        seed(seed),
        compute(device, threads),
        copy(device, 1, StreamPriority::Background) {}

  int rank;
  Device device;
  uint64_t seed;
  Stream compute, copy;

  Context context() const { return compute.context(); }
  std::string name() const;  // "rank 1 (cpu:1)"
};

class DeviceGroup {
 public:
  DeviceGroup(const std::vector<Device>& devices, uint64_t seed, int threads_per_device = 1);
  DeviceGroup(const DeviceGroup&) = delete;
  DeviceGroup& operator=(const DeviceGroup&) = delete;

  int size() const { return static_cast<int>(ranks_.size()); }
  LogicalDevice& operator[](int rank) { return *ranks_.at(static_cast<std::size_t>(rank)); }
  const LogicalDevice& operator[](int rank) const {
    return *ranks_.at(static_cast<std::size_t>(rank));
  }
  const std::vector<Device>& devices() const { return devices_; }

  // Collective over `processes`: gathers every process's device count.
  void join(ProcessGroup& processes);
  ProcessGroup& processes() { return *processes_; }
  const DeviceLayout& layout() const { return layout_; }
  bool spans_processes() const { return layout_.processes() > 1; }
  int global(int rank) const { return layout_.first() + rank; }

  // The math of every rank's compute stream (GEMM and convolution; fp32 unless set).
  void set_math(Math math);

  // Waits for every stream of every rank; then rethrows the first error found.
  void synchronize();
  // The same, for unwinding: waits for everything and swallows errors.
  void drain() noexcept;

 private:
  std::vector<Device> devices_;
  std::vector<std::unique_ptr<LogicalDevice>> ranks_;
  SingleProcess alone_;
  ProcessGroup* processes_ = &alone_;
  DeviceLayout layout_;
};

// Across processes every rank holds one kind of device ("cpu" or "cuda", one
// entry per rank): a GPU rank stages its buckets in chunks, a CPU rank sends
// them whole, so mixed kinds would not match. A ParameterError for "devices"
// names the first rank that differs.
void check_same_device_kind(const std::vector<std::string>& kinds);

}  // namespace cudp
