// Streams, events and time marks (see stream.h): the CPU implementation, and
// the dispatch to parallel/cuda/stream_cuda.cpp for CUDA devices.
//
// CPU stream: one worker thread, a FIFO of tasks and two counters (enqueued,
// finished) under one mutex; synchronize() waits until `finished` reaches the
// `enqueued` it saw when called. A task is either work (skipped once the
// stream holds an error) or control (event records, waits and time marks,
// which always run so that no other stream can hang on this one).
// CPU event: `recorded` counts records enqueued (host side), `completed` the
// records that ran; a wait captures `recorded` when it is enqueued.
#include "parallel/stream.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/error.h"
#if CUDP_HAVE_CUDA
#include "parallel/cuda/stream_cuda.h"
#endif

namespace cudp {
namespace detail {

struct CpuWorker {
  struct Task {
    std::function<void()> fn;
    bool control = false;
  };

  explicit CpuWorker(bool background)
      : background(background), thread([this] { run(); }) {}
  ~CpuWorker() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wake.notify_one();
    thread.join();  // the worker drains the queue first
  }

  void push(std::function<void()> fn, bool control) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      queue.push_back({std::move(fn), control});
      ++enqueued;
    }
    wake.notify_one();
  }

  void synchronize() {
    std::unique_lock<std::mutex> lock(mutex);
    const uint64_t target = enqueued;
    idle.wait(lock, [&] { return finished >= target; });
    if (error) std::rethrow_exception(std::exchange(error, nullptr));
  }

  void run() {
    // A background worker runs at the lowest priority (nice 19): it takes a core
    // only when the compute workers leave one idle. Raising a thread's nice value
    // needs no privilege; if it fails anyway, the worker runs at normal priority.
    if (background) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and nothing left
      Task task = std::move(queue.front());
      queue.pop_front();
      const bool skip = error && !task.control;
      lock.unlock();
      std::exception_ptr thrown;
      if (!skip) {
        try {
          task.fn();
        } catch (...) {
          thrown = std::current_exception();
        }
      }
      task.fn = nullptr;  // release the closure's captures outside the lock
      lock.lock();
      if (thrown && !error) error = thrown;
      ++finished;
      idle.notify_all();
    }
  }

  std::mutex mutex;
  std::condition_variable wake, idle;
  std::deque<Task> queue;
  uint64_t enqueued = 0, finished = 0;
  bool stopping = false;
  std::exception_ptr error;
  const bool background;
  std::thread thread;  // last: it starts after everything above exists
};

struct CpuEvent {
  std::mutex mutex;
  std::condition_variable done;
  uint64_t recorded = 0, completed = 0;

  uint64_t latest() {
    std::lock_guard<std::mutex> lock(mutex);
    return recorded;
  }
  void wait_until(uint64_t generation) {
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [&] { return completed >= generation; });
  }
};

struct MarkState {
  Device device;
  double cpu_us = 0;
  void* cuda_event = nullptr;
  ~MarkState() {
#if CUDP_HAVE_CUDA
    if (cuda_event) parallel_cuda::destroy_event(cuda_event);
#endif
  }
};

}  // namespace detail

namespace {

#if !CUDP_HAVE_CUDA
[[noreturn]] void no_cuda(const char* what) {
  fail(what, ": a CUDA device was given, but this build of cudp has no CUDA backend");
}
#endif

void check_same_kind(Device stream, Device event, const char* what) {
  if (stream.kind != event.kind)
    fail(what, ": a stream on ", stream.str(), " cannot use an event of ", event.str(),
         " (CPU and CUDA devices do not mix in one group)");
}

}  // namespace

namespace {
// The time origin is taken when the program starts (static initialization),
// not at the first read: a mark recorded before its first read must not come
// out negative.
const std::chrono::steady_clock::time_point time_origin = std::chrono::steady_clock::now();
}  // namespace

double host_microseconds() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - time_origin)
      .count();
}

// ---- Event ----

Event::Event(Device device) : device_(device) {
  if (device.is_cpu()) {
    cpu_ = std::make_shared<detail::CpuEvent>();
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_ = parallel_cuda::create_event(device.index, /*timing=*/false);
#else
  no_cuda("Event");
#endif
}

Event::~Event() {
#if CUDP_HAVE_CUDA
  if (cuda_) parallel_cuda::destroy_event(cuda_);
#endif
}

Event::Event(Event&& other) noexcept
    : device_(other.device_),
      cpu_(std::move(other.cpu_)),
      cuda_(std::exchange(other.cuda_, nullptr)) {}

Event& Event::operator=(Event&& other) noexcept {
  std::swap(device_, other.device_);
  std::swap(cpu_, other.cpu_);
  std::swap(cuda_, other.cuda_);
  return *this;
}

void Event::synchronize() const {
  if (cpu_) {
    cpu_->wait_until(cpu_->latest());
    return;
  }
#if CUDP_HAVE_CUDA
  parallel_cuda::synchronize_event(cuda_);
#endif
}

// ---- TimeMark ----

double TimeMark::microseconds() const {
  CUDP_ASSERT(state_ != nullptr);
#if CUDP_HAVE_CUDA
  if (state_->cuda_event)
    return parallel_cuda::event_microseconds(state_->cuda_event, state_->device.index);
#endif
  return state_->cpu_us;
}

double elapsed_ms(const TimeMark& begin, const TimeMark& end) {
  return (end.microseconds() - begin.microseconds()) / 1000.0;
}

// ---- Stream ----

Stream::Stream(Device device, int threads, StreamPriority priority)
    : device_(device), threads_(device.is_cpu() ? std::max(1, threads) : 1) {
  if (device.is_cpu()) {
    cpu_ = std::make_unique<detail::CpuWorker>(priority == StreamPriority::Background);
  } else {
#if CUDP_HAVE_CUDA
    cuda_ = parallel_cuda::create_stream(device.index);
#else
    no_cuda("Stream");
#endif
  }
  tail_ = std::make_unique<Event>(device);
}

Stream::~Stream() { release(); }

void Stream::release() noexcept {
  tail_.reset();
  cpu_.reset();  // drains the queue, joins; a pending error is dropped
#if CUDP_HAVE_CUDA
  if (cuda_) parallel_cuda::destroy_stream(device_.index, cuda_);
#endif
  cuda_ = nullptr;
}

Stream::Stream(Stream&& other) noexcept
    : device_(other.device_),
      threads_(other.threads_),
      cpu_(std::move(other.cpu_)),
      cuda_(std::exchange(other.cuda_, nullptr)),
      tail_(std::move(other.tail_)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    release();
    device_ = other.device_;
    threads_ = other.threads_;
    cpu_ = std::move(other.cpu_);
    cuda_ = std::exchange(other.cuda_, nullptr);
    tail_ = std::move(other.tail_);
  }
  return *this;
}

void Stream::enqueue(std::function<void()> work) {
  if (cpu_) {
    cpu_->push(std::move(work), /*control=*/false);
    return;
  }
#if CUDP_HAVE_CUDA
  parallel_cuda::set_device(device_.index);
  work();  // launches asynchronous work on cuda_
#endif
}

void Stream::enqueue_control(std::function<void()> work) { cpu_->push(std::move(work), true); }

void Stream::record(Event& event) {
  check_same_kind(device_, event.device(), "Stream::record");
  if (cpu_) {
    std::shared_ptr<detail::CpuEvent> state = event.cpu_;
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      generation = ++state->recorded;
    }
    enqueue_control([state, generation] {
      {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->completed = std::max(state->completed, generation);
      }
      state->done.notify_all();
    });
    return;
  }
#if CUDP_HAVE_CUDA
  parallel_cuda::record_event(event.cuda_, device_.index, cuda_);
#endif
}

void Stream::wait(const Event& event) {
  check_same_kind(device_, event.device(), "Stream::wait");
  if (cpu_) {
    std::shared_ptr<detail::CpuEvent> state = event.cpu_;
    const uint64_t generation = state->latest();
    if (generation == 0) return;  // never recorded: nothing to wait for, as in CUDA
    enqueue_control([state, generation] { state->wait_until(generation); });
    return;
  }
#if CUDP_HAVE_CUDA
  parallel_cuda::wait_event(cuda_, device_.index, event.cuda_);
#endif
}

void Stream::wait_for(Stream& other) {
  if (&other == this) return;  // a stream is already ordered with itself
  other.record(*other.tail_);
  wait(*other.tail_);
}

TimeMark Stream::mark() {
  TimeMark mark;
  mark.state_ = std::make_shared<detail::MarkState>();
  mark.state_->device = device_;
  if (cpu_) {
    std::shared_ptr<detail::MarkState> state = mark.state_;
    enqueue_control([state] { state->cpu_us = host_microseconds(); });
    return mark;
  }
#if CUDP_HAVE_CUDA
  mark.state_->cuda_event = parallel_cuda::create_event(device_.index, /*timing=*/true);
  parallel_cuda::record_event(mark.state_->cuda_event, device_.index, cuda_);
#endif
  return mark;
}

void Stream::synchronize() {
  if (cpu_) {
    cpu_->synchronize();
    return;
  }
#if CUDP_HAVE_CUDA
  parallel_cuda::synchronize_stream(device_.index, cuda_);
#endif
}

}  // namespace cudp
