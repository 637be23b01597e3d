// CPU time of a CPU stream's work: what the trace's `cpu_us` and `thread` say.
//
// Every CPU worker (cpu_worker.h) keeps a CpuAccount. While accounting is on
// (a Tracer exists: CpuAccounting), each WORK task of the worker adds the
// thread CPU time (CLOCK_THREAD_CPUTIME_ID) it took on the thread that ran
// it, and the pool helpers of its parallel_run calls (thread_pool.h) add
// theirs: while a task runs, its account is this thread's "charged" one. A
// TimeMark on a CPU stream reads its worker's account (CpuUsage); a span's CPU
// time is the difference of its two marks' readings (span_cpu).
//
// The decision a reader would get wrong: CPU time is counted per TASK, not
// read off one thread's clock at the two marks. A copy stream's task may run
// on the thread that waits for it (cpu_worker.h), and a worker's own thread
// runs other workers' tasks while it waits: one thread's clock would charge
// them to the wrong stream. Waits, records and marks are control tasks and
// charge nothing, so a span of waits only (join, net_wait) has no work and no
// CPU time: span_cpu says so, and the trace writes no field. Accounting off, a
// task pays one relaxed atomic load; GPU marks carry no reading at all.
#pragma once

#include <atomic>
#include <cstdint>

namespace cudp {

// A CpuAccount read at a mark.
struct CpuUsage {
  int64_t cpu_ns = 0;  // the work tasks' CPU time so far, pool helpers included
  int64_t tasks = 0;   // work tasks run so far
  int64_t streak = 0;  // how many of the last ones ran in a row on `thread`
  int64_t thread = 0;  // Linux thread id (gettid) that ran the last one; 0: none yet
};

// What ran between two readings of the same account.
struct SpanCpu {
  bool work = false;        // any work task at all; false: a span of waits
  double cpu_us = 0;        // their CPU time, pool helpers summed in
  int64_t thread = 0;       // the thread that ran the last of them
  bool one_thread = false;  // every one of them ran on `thread`
};
SpanCpu span_cpu(const CpuUsage& begin, const CpuUsage& end);

// Turns accounting on for its lifetime; scopes nest (one per Tracer).
class CpuAccounting {
 public:
  CpuAccounting();
  ~CpuAccounting();
  CpuAccounting(const CpuAccounting&) = delete;
  CpuAccounting& operator=(const CpuAccounting&) = delete;
};
bool cpu_accounting_on();

int64_t thread_cpu_ns();      // CLOCK_THREAD_CPUTIME_ID of the calling thread
int64_t current_thread_id();  // gettid(), cached per thread

namespace detail {

struct CpuAccount {
  // Pool helpers add to it while the task runs; the rest is written only by the
  // thread running one of the worker's tasks, which run one at a time.
  std::atomic<int64_t> cpu_ns{0};
  int64_t tasks = 0, streak = 0, thread = 0;
  CpuUsage read() const;
};

// Held around one work task of `account` (null: nothing is charged): adds the
// task's CPU time to it, and makes it the account pool helpers charge.
class ChargeTask {
 public:
  explicit ChargeTask(CpuAccount* account);
  ~ChargeTask();
  ChargeTask(const ChargeTask&) = delete;
  ChargeTask& operator=(const ChargeTask&) = delete;

 private:
  CpuAccount* account_ = nullptr;
  CpuAccount* outer_ = nullptr;
  int64_t start_ns_ = 0, outer_nested_ns_ = 0;
};
CpuAccount* charged_account();  // the running task's account on this thread, or null
// A pool helper's share of a task of `account` (null: none) took `ns` of CPU.
inline void charge_helper(CpuAccount* account, int64_t ns) {
  if (account) account->cpu_ns.fetch_add(ns, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace cudp
