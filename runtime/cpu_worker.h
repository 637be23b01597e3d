// The CPU side of streams and events (see stream.h): a worker thread with a
// FIFO of tasks, and an event as a pair of generation counters.
//
// Worker: `enqueued` and `finished` count tasks under one mutex; a task is
// work (skipped once the stream holds an error) or control (records, waits,
// time marks: they always run, so no other stream hangs on a failed one). A
// wait is a task that may start only once its event reached a generation.
// Event: `recorded` counts records enqueued (host side), `completed` the ones
// that ran; a wait captures `recorded`, and the worker that record went to.
//
// The decision a reader would get wrong: a task of a BACKGROUND worker (a copy
// stream, nice 19) may run on another thread. A nice-19 thread that wakes up on
// a busy core can sit in its run queue for milliseconds while the other core
// idles, because that core does not pull it over at once. So whoever waits for
// a background worker (a compute worker at a wait, the host in synchronize)
// runs that worker's next task itself when the worker has not started it, and
// follows the worker's own pending wait to the worker that holds it up. The
// tasks still run one at a time and in FIFO order; only the thread differs.
// As with CUDA streams, one host thread at a time queues work and records.
// `account` is charged with the CPU time of each work task, on whichever
// thread it runs, while accounting is on (runtime/cpu_time.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "runtime/cpu_time.h"

namespace cudp::detail {

struct CpuWorker;

struct CpuEvent {
  std::mutex mutex;
  std::condition_variable done;
  uint64_t recorded = 0, completed = 0;
  std::weak_ptr<CpuWorker> producer;  // where the record `recorded` was queued

  struct Latest {
    uint64_t generation;
    std::weak_ptr<CpuWorker> producer;
  };
  Latest latest();  // the most recent record: what a wait queued now waits for
  bool reached(uint64_t generation);
  void complete(uint64_t generation);
  void wait_plain(uint64_t generation);  // no helping
  // Blocks until `generation` completed, helping `producer` meanwhile.
  void wait_until(uint64_t generation, const std::weak_ptr<CpuWorker>& producer);
};

struct CpuWorker {
  struct Task {
    std::function<void()> fn;  // empty for a wait
    bool control = false;
    std::shared_ptr<CpuEvent> awaited;  // a wait: starts once awaited reaches generation
    uint64_t generation = 0;
    std::weak_ptr<CpuWorker> producer;  // of that record: whom to help
  };

  explicit CpuWorker(bool background);
  ~CpuWorker();     // shutdown()
  void shutdown();  // runs what is queued, then joins; idempotent; the owner calls it

  void push(Task task);
  void push(std::function<void()> fn, bool control);
  // The host waits for everything queued so far; rethrows a task's exception.
  void synchronize();

  // What help() did: ran a task on the calling thread; found one running;
  // found the chain of waits ending at `event` not yet at `generation` (a
  // compute stream's record, or one too many hops away); found nothing queued.
  struct Help {
    enum Kind { Ran, Busy, Blocked, Empty } kind = Empty;
    std::shared_ptr<CpuEvent> event;
    uint64_t generation = 0;
  };
  // Runs the next task on the calling thread if this is a background worker,
  // no task of it is running, and that task can start; a pending wait is
  // followed to its producer, up to `depth` hops.
  Help help(int depth);

  const bool background;
  CpuAccount account;  // a time mark reads it (stream.cpp)

 private:
  void run();
  bool front_ready();  // with mutex held
  // Sleeps on `idle` until `finished` reaches `target` (with `recheck`: at most
  // kRecheck). run_front wakes the sleepers only once the least target among
  // them is reached, not after every task: the host waiting for a compute
  // stream at the end of a step was woken by each of its tasks, and each wake
  // took a core from a compute worker (25 preemptions per cpu:2 step).
  void sleep_until_finished(std::unique_lock<std::mutex>& lock, uint64_t target, bool recheck);
  void run_front(std::unique_lock<std::mutex>& lock);

  std::mutex mutex;
  std::condition_variable wake, idle;
  std::deque<Task> queue;
  uint64_t enqueued = 0, finished = 0;
  static constexpr uint64_t kNever = ~uint64_t{0};
  uint64_t notify_at = kNever;  // the least target of a thread asleep on `idle`
  bool running = false, stopping = false;
  std::exception_ptr error;
  std::thread thread;  // last: it starts after everything above exists
  friend struct CpuEvent;
};

}  // namespace cudp::detail
