// CPU workers and events (see cpu_worker.h).
//
// Lock order: a worker's mutex, then an event's mutex (a worker checks its
// front wait under its own lock). Nothing holds an event's mutex while it
// takes a worker's. A helper checks what it waits for before each try, so it
// runs only tasks queued before that record: work that had to run anyway.
// When it cannot help, it sleeps on what held it up (the event at the end of
// the chain of waits, or its own condition while a task runs), and looks
// again at least every kRecheck: its own record may complete while it sleeps
// on another event, which nobody would tell it.
#include "runtime/cpu_worker.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cudp::detail {
namespace {

constexpr int kHelpDepth = 4;  // a wait that waits on a wait that ...
constexpr std::chrono::milliseconds kRecheck{1};

// Sleeps after a try that ran nothing: on the blocking event if there is one,
// else on the helper's own condition (sleep_own(), with `lock` held on its mutex).
template <class SleepOwn>
void sleep_after(const CpuWorker::Help& help, std::unique_lock<std::mutex>& lock,
                 SleepOwn sleep_own) {
  if (help.kind != CpuWorker::Help::Blocked) return sleep_own();
  lock.unlock();
  {
    std::unique_lock<std::mutex> blocked(help.event->mutex);
    help.event->done.wait_for(blocked, kRecheck,
                              [&] { return help.event->completed >= help.generation; });
  }
  lock.lock();
}

}  // namespace

CpuEvent::Latest CpuEvent::latest() {
  std::lock_guard<std::mutex> lock(mutex);
  return {recorded, producer};
}

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

void CpuEvent::wait_plain(uint64_t generation) {
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return completed >= generation; });
}

void CpuEvent::wait_until(uint64_t generation, const std::weak_ptr<CpuWorker>& producer) {
  std::shared_ptr<CpuWorker> helped = producer.lock();
  if (!helped || !helped->background) return wait_plain(generation);  // compute is not starved
  auto is_done = [&] { return completed >= generation; };
  std::unique_lock<std::mutex> lock(mutex);
  while (!is_done()) {
    lock.unlock();
    const CpuWorker::Help help = helped->help(kHelpDepth);
    lock.lock();
    if (help.kind != CpuWorker::Help::Ran && !is_done())
      sleep_after(help, lock, [&] { done.wait_for(lock, kRecheck, is_done); });
  }
}

CpuWorker::CpuWorker(bool background) : background(background), thread([this] { run(); }) {}

CpuWorker::~CpuWorker() { shutdown(); }

void CpuWorker::shutdown() {
  if (!thread.joinable()) return;
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

void CpuWorker::push(std::function<void()> fn, bool control) {
  Task task;
  task.fn = std::move(fn);
  task.control = control;
  push(std::move(task));
}

void CpuWorker::synchronize() {
  std::unique_lock<std::mutex> lock(mutex);
  const uint64_t target = enqueued;
  auto is_done = [&] { return finished >= target; };
  while (!is_done()) {
    if (!background) {
      sleep_until_finished(lock, target, false);
      break;
    }
    lock.unlock();
    const Help help = this->help(kHelpDepth);
    lock.lock();
    if (help.kind != Help::Ran && !is_done())
      sleep_after(help, lock, [&] { sleep_until_finished(lock, target, true); });
  }
  if (error) std::rethrow_exception(std::exchange(error, nullptr));
}

void CpuWorker::sleep_until_finished(std::unique_lock<std::mutex>& lock, uint64_t target,
                                     bool recheck) {
  const auto deadline = std::chrono::steady_clock::now() + kRecheck;
  while (finished < target) {
    notify_at = std::min(notify_at, target);  // again after each wake: it may have been reset
    if (!recheck)
      idle.wait(lock);
    else if (idle.wait_until(lock, deadline) == std::cv_status::timeout)
      return;
  }
}

bool CpuWorker::front_ready() {
  if (running || queue.empty()) return false;
  const Task& front = queue.front();
  return !front.awaited || front.awaited->reached(front.generation);
}

CpuWorker::Help CpuWorker::help(int depth) {
  std::unique_lock<std::mutex> lock(mutex);
  if (queue.empty()) return {Help::Empty, nullptr, 0};
  if (running) return {Help::Busy, nullptr, 0};
  const Task& front = queue.front();
  if (front_ready()) {
    if (!background) return {Help::Busy, nullptr, 0};  // its own thread is on it
    run_front(lock);
    return {Help::Ran, nullptr, 0};
  }
  // The next task is a wait that is not satisfied: help whoever holds it up.
  const Help blocked{Help::Blocked, front.awaited, front.generation};
  std::shared_ptr<CpuWorker> next = front.producer.lock();
  lock.unlock();
  if (depth == 0 || !next || !next->background || next.get() == this) return blocked;
  const Help further = next->help(depth - 1);
  return further.kind == Help::Empty ? blocked : further;
}

void CpuWorker::run_front(std::unique_lock<std::mutex>& lock) {
  Task task = std::move(queue.front());
  queue.pop_front();
  running = true;
  const bool skip = error && !task.control;
  lock.unlock();
  std::exception_ptr thrown;
  if (!skip && task.fn) {
    ChargeTask charge(task.control ? nullptr : &account);
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
  if (finished >= notify_at) {
    notify_at = kNever;
    idle.notify_all();
  }
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
