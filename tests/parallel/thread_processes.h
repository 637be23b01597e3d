// Processes played by threads of one test, for the Communicator's Net route
// without mpirun: P ThreadProcesses share a Hub of mailboxes, one FIFO per
// (from, to, tag, kind), so messages match in posting order as MPI's do (per
// source, tag and communicator). Sends are copied when posted; receives wait
// (30 s, then the test fails naming the peer). net_all_reduce runs one
// all-reduce over every thread's devices and returns each global device's
// result, to compare with one process over as many devices.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <vector>

#include "parallel/communicator.h"
#include "runtime/copy.h"
#include "runtime/error.h"

namespace cudp::test {

struct Hub {
  explicit Hub(int size) : size(size) {}
  int size;
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<std::tuple<int, int, int, bool>, std::deque<std::vector<char>>> boxes;
};

class ThreadProcesses final : public ProcessGroup {
 public:
  ThreadProcesses(Hub& hub, int rank) : hub_(hub), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return hub_.size; }
  std::string host() const override { return "thread"; }
  std::vector<std::string> all_gather(const std::string& mine) override {
    for (int p = 0; p < size(); ++p)
      if (p != rank_) send(p, 0, true, mine.data(), mine.size());
    std::vector<std::string> all;
    for (int p = 0; p < size(); ++p) {
      if (p == rank_) {
        all.push_back(mine);
        continue;
      }
      const std::vector<char> bytes = receive(p, 0, true);
      all.emplace_back(bytes.begin(), bytes.end());
    }
    return all;
  }
  void exchange(const std::vector<Transfer>& transfers) override {
    for (const Transfer& t : transfers)
      if (t.send) send(t.peer, t.tag, false, t.data, t.bytes);
    for (const Transfer& t : transfers) {
      if (t.send) continue;
      const std::vector<char> bytes = receive(t.peer, t.tag, false);
      if (bytes.size() != t.bytes)
        fail("thread rank ", rank_, ": expected ", t.bytes, " bytes from ", t.peer, ", got ",
             bytes.size());
      if (!bytes.empty()) std::memcpy(t.data, bytes.data(), bytes.size());
    }
  }
  void all_reduce_sum(float*, std::size_t) override { fail("not played by threads"); }
  [[noreturn]] void abort(int code) override { fail("thread rank ", rank_, " aborted: ", code); }

 private:
  void send(int to, int tag, bool host, const void* data, std::size_t bytes) {
    const char* p = static_cast<const char*>(data);
    std::lock_guard<std::mutex> lock(hub_.mutex);
    hub_.boxes[{rank_, to, tag, host}].emplace_back(p, p + bytes);
    hub_.arrived.notify_all();
  }
  std::vector<char> receive(int from, int tag, bool host) {
    std::unique_lock<std::mutex> lock(hub_.mutex);
    auto& box = hub_.boxes[{from, rank_, tag, host}];
    if (!hub_.arrived.wait_for(lock, std::chrono::seconds(30), [&] { return !box.empty(); }))
      fail("thread rank ", rank_, " waited 30 s for rank ", from, " (tag ", tag, ")");
    std::vector<char> bytes = std::move(box.front());
    box.pop_front();
    return bytes;
  }
  Hub& hub_;
  int rank_;
};

// values[g]: global device g's bucket. counts[p]: thread p's local devices, each
// made by device(local index). Returns every global device's all-reduced values.
inline std::vector<std::vector<float>> net_all_reduce(const std::vector<int>& counts,
                                                      const std::vector<std::vector<float>>& values,
                                                      PlanOptions options,
                                                      const std::function<Device(int)>& device) {
  const int P = static_cast<int>(counts.size());
  Hub hub(P);
  std::vector<std::vector<float>> out(values.size());
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(P));
  std::vector<std::thread> threads;
  int first = 0;
  for (int p = 0; p < P; ++p) {
    threads.emplace_back([&, p, first] {
      try {
        ThreadProcesses processes(hub, p);
        std::vector<Device> devices;
        for (int l = 0; l < counts[p]; ++l) devices.push_back(device(l));
        DeviceGroup group(devices, 0);
        group.join(processes);
        const int64_t n = static_cast<int64_t>(values[0].size());
        BucketPlan plan(std::vector<int64_t>{n}, group, options);
        std::vector<Buffer<float>> buffers;
        std::vector<float*> pointers;
        for (int l = 0; l < counts[p]; ++l) {
          buffers.emplace_back(group[l].device, static_cast<std::size_t>(n));
          upload(group[l].context(), buffers.back().data(), group[l].device,
                 values[first + l].data(), static_cast<std::size_t>(n) * 4);
          pointers.push_back(buffers.back().data());
        }
        {
          Communicator c(group, plan);
          c.all_reduce(plan.whole(), pointers, c.ready_now(counts[p]));
          c.finish(plan.whole(), counts[p]);
          c.synchronize();
          group.synchronize();
        }
        for (int l = 0; l < counts[p]; ++l) {
          out[first + l].resize(static_cast<std::size_t>(n));
          download(group[l].context(), out[first + l].data(), buffers[l].data(), group[l].device,
                   static_cast<std::size_t>(n) * 4);
        }
      } catch (...) {
        errors[static_cast<std::size_t>(p)] = std::current_exception();
      }
    });
    first += counts[p];
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace cudp::test
