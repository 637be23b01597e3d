// Streams, events and time marks (see stream.h): the CPU implementation, and
// the dispatch to the CUDA shim (runtime/cuda/shim.cpp) for CUDA devices.
//
// A CPU stream is a detail::CpuWorker and a CPU event a detail::CpuEvent
// (runtime/cpu_worker.h, which also says who may run a copy stream's tasks).
#include "runtime/stream.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "runtime/cpu_time.h"
#include "runtime/cpu_worker.h"
#include "runtime/cuda_info.h"
#include "runtime/error.h"
#if CUDP_HAVE_CUDA
#include "runtime/cuda/shim.h"
#endif

namespace cudp {
namespace detail {

struct MarkState {
  Device device;
  double cpu_us = 0;
  bool has_usage = false;  // a CPU mark read while accounting is on
  CpuUsage usage;
  void* cuda_event = nullptr;
  ~MarkState() {
#if CUDP_HAVE_CUDA
    if (cuda_event) cuda_shim::destroy_event(cuda_event);
#endif
  }
};

}  // namespace detail

namespace {

void check_same_kind(Device stream, Device event, const char* what) {
  if (stream.kind != event.kind)
    fail(what, ": a stream on ", stream.str(), " cannot use an event of ", event.str(),
         " (CPU and CUDA devices do not mix in one group)");
}

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
  cuda_ = cuda_shim::create_event(device.index, /*timing=*/false);
#else
  fail_no_cuda_backend("Event");
#endif
}

Event::~Event() {
#if CUDP_HAVE_CUDA
  if (cuda_) cuda_shim::destroy_event(cuda_);
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
    const detail::CpuEvent::Latest latest = cpu_->latest();
    cpu_->wait_until(latest.generation, latest.producer);
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::synchronize_event(cuda_);
#endif
}

// ---- TimeMark ----

double TimeMark::microseconds() const {
  CUDP_ASSERT(state_ != nullptr);
#if CUDP_HAVE_CUDA
  if (state_->cuda_event)
    return cuda_shim::event_microseconds(state_->cuda_event, state_->device.index);
#endif
  return state_->cpu_us;
}

const CpuUsage* TimeMark::cpu_usage() const {
  return state_ && state_->has_usage ? &state_->usage : nullptr;
}

double elapsed_ms(const TimeMark& begin, const TimeMark& end) {
  return (end.microseconds() - begin.microseconds()) / 1000.0;
}

// ---- Stream ----

Stream::Stream(Device device, int threads, StreamPriority priority)
    : device_(device), threads_(device.is_cpu() ? std::max(1, threads) : 1) {
  if (device.is_cpu()) {
    cpu_ = std::make_shared<detail::CpuWorker>(priority == StreamPriority::Background);
  } else {
#if CUDP_HAVE_CUDA
    cuda_ = cuda_shim::create_stream(device.index);
#else
    fail_no_cuda_backend("Stream");
#endif
  }
  tail_ = std::make_unique<Event>(device);
}

Stream::~Stream() { release(); }

void Stream::release() noexcept {
  tail_.reset();
  // Drains the queue and joins here, even while a helper still holds the
  // worker; a pending error is dropped.
  if (cpu_) cpu_->shutdown();
  cpu_.reset();
#if CUDP_HAVE_CUDA
  if (cuda_) cuda_shim::destroy_stream(device_.index, cuda_);
#endif
  cuda_ = nullptr;
}

Stream::Stream(Stream&& other) noexcept
    : device_(other.device_),
      threads_(other.threads_),
      math_(other.math_),
      cpu_(std::move(other.cpu_)),
      cuda_(std::exchange(other.cuda_, nullptr)),
      tail_(std::move(other.tail_)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    release();
    device_ = other.device_;
    threads_ = other.threads_;
    math_ = other.math_;
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
  cuda_shim::set_device(device_.index);
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
      state->producer = cpu_;
    }
    enqueue_control([state, generation] { state->complete(generation); });
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::record_event(event.cuda_, device_.index, cuda_);
#endif
}

void Stream::wait(const Event& event) {
  check_same_kind(device_, event.device(), "Stream::wait");
  if (cpu_) {
    detail::CpuEvent::Latest latest = event.cpu_->latest();
    if (latest.generation == 0) return;  // never recorded: nothing to wait for, as in CUDA
    detail::CpuWorker::Task wait;
    wait.control = true;
    wait.awaited = event.cpu_;
    wait.generation = latest.generation;
    wait.producer = std::move(latest.producer);
    cpu_->push(std::move(wait));
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::wait_event(cuda_, device_.index, event.cuda_);
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
    const detail::CpuWorker* worker = cpu_.get();  // outlives its queued tasks
    enqueue_control([state, worker] {
      state->cpu_us = host_microseconds();
      if (!cpu_accounting_on()) return;
      state->usage = worker->account.read();
      state->has_usage = true;
    });
    return mark;
  }
#if CUDP_HAVE_CUDA
  mark.state_->cuda_event = cuda_shim::create_event(device_.index, /*timing=*/true);
  cuda_shim::record_event(mark.state_->cuda_event, device_.index, cuda_);
#endif
  return mark;
}

void Stream::synchronize() {
  if (cpu_) {
    cpu_->synchronize();
    return;
  }
#if CUDP_HAVE_CUDA
  cuda_shim::synchronize_stream(device_.index, cuda_);
#endif
}

}  // namespace cudp
