// Streams, events and time marks: one API over CPU and CUDA devices.
//
// A Stream is an ordered queue of work on one logical device; enqueue(fn)
// queues a host closure that does the device work through context():
//   CPU device   a worker thread owned by the stream runs the closures in FIFO
//                order, so the closure IS the work (a memcpy, a CPU kernel);
//   CUDA device  fn runs at once on the calling thread, with the stream's GPU
//                current, and only LAUNCHES asynchronous work on cuda_stream().
// Events follow CUDA's semantics on both: record(event) marks the stream's
// current end; wait(event) holds later work on this stream until the most
// recent record enqueued BEFORE the wait has completed (a CPU event is a pair
// of generation counters, so an event is reusable and a wait never sees a
// later record). wait_for(other) is record + wait on other's own event.
//
// The decision a reader would get wrong: an exception thrown by a CPU closure
// is not lost and does not terminate: it is kept and rethrown by the next
// synchronize() of that stream. Until then the stream skips its remaining
// work closures but still runs event records and waits, so other streams that
// wait on it never hang. Destructors drain the queue, join and never throw.
#pragma once

#include <functional>
#include <memory>

#include "runtime/context.h"

namespace cudp {

struct CpuUsage;  // runtime/cpu_time.h

namespace detail {
struct CpuWorker;
struct CpuEvent;
struct MarkState;
}  // namespace detail

class Stream;

class Event {
 public:
  explicit Event(Device device);
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  Device device() const { return device_; }
  void synchronize() const;  // the host waits for the most recent record

 private:
  friend class Stream;
  Device device_;
  std::shared_ptr<detail::CpuEvent> cpu_;
  void* cuda_ = nullptr;  // cudaEvent_t, created without timing
};

// A point in a stream, timed when the stream reaches it (steady clock on a CPU
// device, a CUDA event on a GPU). Read it only after synchronizing the stream.
// On a CPU device while CPU accounting is on it also reads the CPU time the
// stream's work got so far (runtime/cpu_time.h); on a GPU, never.
class TimeMark {
 public:
  TimeMark() = default;
  bool valid() const { return state_ != nullptr; }
  double microseconds() const;  // since the process's time origin
  const CpuUsage* cpu_usage() const;  // null: a GPU mark, or accounting was off

 private:
  friend class Stream;
  std::shared_ptr<detail::MarkState> state_;
};

double elapsed_ms(const TimeMark& begin, const TimeMark& end);
double host_microseconds();  // now, on the same origin as TimeMark

// Background: on a CPU device the worker thread runs at the lowest priority,
// so that it takes a core only when the compute workers leave one idle (a
// device's copy stream: communication and the buckets' SGD), and a thread
// that waits for it may run its next task itself (cpu_worker.h says why).
// No effect on GPUs.
enum class StreamPriority { Normal, Background };

class Stream {
 public:
  // threads: how many threads the ops queued here may use (CPU devices; 1 on GPUs).
  explicit Stream(Device device, int threads = 1, StreamPriority priority = StreamPriority::Normal);
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Device device() const { return device_; }
  CudaStream cuda_stream() const { return cuda_; }  // nullptr on a CPU device
  Context context() const { return {device_, cuda_, threads_, math_}; }
  // The math the contexts of this stream carry (GEMM and convolution; fp32 by default).
  void set_math(Math math) { math_ = math; }

  void enqueue(std::function<void()> work);
  void record(Event& event);
  void wait(const Event& event);
  void wait_for(Stream& other);  // later work here waits for all work queued on other so far
  TimeMark mark();
  // The host waits for all queued work; rethrows a captured closure exception.
  void synchronize();

 private:
  void enqueue_control(std::function<void()> work);  // runs even after an error
  void release() noexcept;

  Device device_;
  int threads_ = 1;
  Math math_ = Math::fp32;
  std::shared_ptr<detail::CpuWorker> cpu_;  // shared: events name their producer
  CudaStream cuda_ = nullptr;
  std::unique_ptr<Event> tail_;  // wait_for's event, recorded on this stream
};

}  // namespace cudp
