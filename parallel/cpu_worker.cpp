// CPU workers and events (see cpu_worker.h).
//
// Lock order: a worker's mutex, then an event's mutex (a worker checks its
// front wait under its own lock). Nothing holds an event's mutex while it
// takes a worker's. A helper checks its own event before helping, so it runs
// only tasks queued before the record it waits for: work that had to run
// anyway. It polls while the worker it helps is held up elsewhere: nothing
// would wake it when that worker's wait is satisfied.
#include "parallel/cpu_worker.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cudp::detail {
namespace {

constexpr int kHelpDepth = 4;  // a wait that waits on a wait that ...
constexpr std::chrono::microseconds kPoll{200};

}  // namespace

bool CpuEvent::reached(uint64_t generation) {
  std::lock_guard<std::mutex> lock(mutex);
  return completed >= generation;
}

void CpuEvent::complete(uint64_t generation) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    completed = std::max(completed, generation);
  }
  done.notify_all();
}

void CpuEvent::wait_until(uint64_t generation, const std::weak_ptr<CpuWorker>& producer) {
  std::shared_ptr<CpuWorker> helped = producer.lock();
  if (helped && !helped->background) helped.reset();  // a compute worker is not starved
  auto is_done = [&] { return completed >= generation; };
  std::unique_lock<std::mutex> lock(mutex);
  while (!is_done()) {
    if (!helped) {
      done.wait(lock, is_done);
      return;
    }
    lock.unlock();
    const bool ran = helped->help(kHelpDepth);
    lock.lock();
    if (!ran) done.wait_for(lock, kPoll, is_done);
  }
}

CpuWorker::CpuWorker(bool background) : background(background), thread([this] { run(); }) {}

CpuWorker::~CpuWorker() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  wake.notify_one();
  thread.join();
}

void CpuWorker::push(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex);
    queue.push_back(std::move(task));
    ++enqueued;
  }
  wake.notify_one();
}

void CpuWorker::synchronize() {
  std::unique_lock<std::mutex> lock(mutex);
  const uint64_t target = enqueued;
  auto is_done = [&] { return finished >= target; };
  while (!is_done()) {
    if (!background) {
      idle.wait(lock, is_done);
      break;
    }
    lock.unlock();
    const bool ran = help(kHelpDepth);
    lock.lock();
    if (!ran) idle.wait_for(lock, kPoll, is_done);
  }
  if (error) std::rethrow_exception(std::exchange(error, nullptr));
}

bool CpuWorker::front_ready() {
  if (running || queue.empty()) return false;
  const Task& front = queue.front();
  return !front.awaited || front.awaited->reached(front.generation);
}

bool CpuWorker::help(int depth) {
  if (!background) return false;
  std::unique_lock<std::mutex> lock(mutex);
  if (front_ready()) {
    run_front(lock);
    return true;
  }
  if (running || queue.empty() || depth == 0) return false;
  // The next task is a wait that is not satisfied: help whoever holds it up.
  std::shared_ptr<CpuWorker> next = queue.front().producer.lock();
  lock.unlock();
  return next && next.get() != this && next->help(depth - 1);
}

void CpuWorker::run_front(std::unique_lock<std::mutex>& lock) {
  Task task = std::move(queue.front());
  queue.pop_front();
  running = true;
  const bool skip = error && !task.control;
  lock.unlock();
  std::exception_ptr thrown;
  if (!skip && task.fn) {
    try {
      task.fn();
    } catch (...) {
      thrown = std::current_exception();
    }
  }
  task = Task{};  // release the closure's captures outside the lock
  lock.lock();
  running = false;
  if (thrown && !error) error = thrown;
  ++finished;
  idle.notify_all();
  wake.notify_one();  // the worker may be waiting for `running` to clear
}

void CpuWorker::run() {
  // A background worker runs at the lowest priority (nice 19): it takes a core
  // only when the compute workers leave one idle. Raising a thread's nice value
  // needs no privilege; if it fails anyway, the worker runs at normal priority.
  if (background) setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 19);
  std::unique_lock<std::mutex> lock(mutex);
  while (true) {
    wake.wait(lock, [&] { return !running && (stopping || !queue.empty()); });
    if (queue.empty()) return;  // stopping, and nothing left
    if (front_ready()) {
      run_front(lock);
      continue;
    }
    const Task& front = queue.front();  // a wait that is not satisfied yet
    const std::shared_ptr<CpuEvent> event = front.awaited;
    const uint64_t generation = front.generation;
    const std::weak_ptr<CpuWorker> producer = front.producer;
    lock.unlock();
    event->wait_until(generation, producer);
    lock.lock();  // a helper may have taken the wait meanwhile: look again
  }
}

}  // namespace cudp::detail
