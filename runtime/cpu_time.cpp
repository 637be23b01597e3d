// CPU accounting of CPU streams' tasks (see cpu_time.h).
//
// A nested ChargeTask (a task that waits, and whose thread meanwhile runs
// another worker's task) charges the inner task to the inner account and
// takes its CPU time back out of the outer one, so no CPU time counts twice.
#include "runtime/cpu_time.h"

#include <ctime>
#include <utility>

#include <sys/syscall.h>
#include <unistd.h>

namespace cudp {
namespace {

std::atomic<int> accounting_scopes{0};
thread_local detail::CpuAccount* charged = nullptr;
thread_local int64_t nested_ns = 0;  // CPU time of inner tasks, for the outer one to leave out

}  // namespace

SpanCpu span_cpu(const CpuUsage& begin, const CpuUsage& end) {
  SpanCpu s;
  const int64_t tasks = end.tasks - begin.tasks;
  s.work = tasks > 0;
  if (!s.work) return s;
  s.cpu_us = static_cast<double>(end.cpu_ns - begin.cpu_ns) / 1000.0;
  s.thread = end.thread;
  s.one_thread = end.streak >= tasks;  // the streak covers every task since `begin`
  return s;
}

CpuAccounting::CpuAccounting() { accounting_scopes.fetch_add(1, std::memory_order_relaxed); }
CpuAccounting::~CpuAccounting() { accounting_scopes.fetch_sub(1, std::memory_order_relaxed); }
bool cpu_accounting_on() { return accounting_scopes.load(std::memory_order_relaxed) > 0; }

int64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

int64_t current_thread_id() {
  thread_local const int64_t id = static_cast<int64_t>(syscall(SYS_gettid));
  return id;
}

namespace detail {

CpuUsage CpuAccount::read() const {
  return {cpu_ns.load(std::memory_order_relaxed), tasks, streak, thread};
}

ChargeTask::ChargeTask(CpuAccount* account) {
  if (!account || !cpu_accounting_on()) return;
  account_ = account;
  outer_ = std::exchange(charged, account);
  outer_nested_ns_ = std::exchange(nested_ns, 0);
  start_ns_ = thread_cpu_ns();
}

ChargeTask::~ChargeTask() {
  if (!account_) return;
  const int64_t total = thread_cpu_ns() - start_ns_;
  account_->cpu_ns.fetch_add(total - nested_ns, std::memory_order_relaxed);
  const int64_t me = current_thread_id();
  account_->streak = account_->thread == me ? account_->streak + 1 : 1;
  account_->thread = me;
  ++account_->tasks;
  charged = outer_;
  nested_ns = outer_nested_ns_ + total;  // the outer task leaves this one's time out
}

CpuAccount* charged_account() { return charged; }

}  // namespace detail
}  // namespace cudp
