// CPU time of a CPU stream's work (runtime/cpu_time.h): a span that sleeps
// gets CPU time well below its wall time, busy work on a pool of 2 threads
// counts both threads, a span of waits has no work, nested charging counts
// nothing twice, and nothing is counted while accounting is off.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/cpu_time.h"
#include "runtime/device.h"
#include "runtime/stream.h"
#include "runtime/thread_pool.h"

namespace cudp {
namespace {

// Spins until this thread got `ms` of CPU time; returns the wall time it took.
double burn_cpu_ms(double ms) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t until = thread_cpu_ns() + static_cast<int64_t>(ms * 1e6);
  volatile double x = 0;
  while (thread_cpu_ns() < until)
    for (int i = 0; i < 1000; ++i) x = x + 1e-9;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

struct Measured {
  SpanCpu cpu;
  double wall_ms = 0;
};

// begin mark, work(), end mark on `stream`; read after synchronizing.
template <class Work>
Measured measure(Stream& stream, Work work) {
  TimeMark begin = stream.mark();
  work();
  TimeMark end = stream.mark();
  stream.synchronize();
  EXPECT_TRUE(begin.cpu_usage() && end.cpu_usage());
  Measured m;
  if (begin.cpu_usage() && end.cpu_usage()) m.cpu = span_cpu(*begin.cpu_usage(), *end.cpu_usage());
  m.wall_ms = elapsed_ms(begin, end);
  return m;
}

TEST(CpuTime, ASleepingSpanGetsLittleCpuTime) {
  CpuAccounting on;
  Stream stream(cpu_device(0));
  const Measured m = measure(stream, [&] {
    stream.enqueue([] { std::this_thread::sleep_for(std::chrono::milliseconds(30)); });
  });
  ASSERT_TRUE(m.cpu.work);
  EXPECT_GE(m.wall_ms, 29.0);
  EXPECT_LT(m.cpu.cpu_us / 1000, 0.3 * m.wall_ms) << "cpu " << m.cpu.cpu_us << " us";
  EXPECT_TRUE(m.cpu.one_thread);
  EXPECT_NE(m.cpu.thread, current_thread_id());  // the stream's worker ran it, not the host
}

TEST(CpuTime, PoolThreadsAreSummed) {
  CpuAccounting on;
  Stream stream(cpu_device(0), /*threads=*/2);
  const double each_ms = 40;
  const Measured m = measure(stream, [&] {
    stream.enqueue([each_ms] { parallel_run(2, [each_ms](int) { burn_cpu_ms(each_ms); }); });
  });
  ASSERT_TRUE(m.cpu.work);
  // Both threads burned each_ms of their own CPU: the sum is 2 x each_ms,
  // whether the two shared one core (wall ~2x) or had two.
  EXPECT_GE(m.cpu.cpu_us / 1000, 2 * each_ms * 0.95) << "wall " << m.wall_ms << " ms";
  EXPECT_LT(m.cpu.cpu_us / 1000, 2 * each_ms * 1.5 + 20);
}

TEST(CpuTime, WaitsAndMarksAreNoWork) {
  CpuAccounting on;
  Stream a(cpu_device(0)), b(cpu_device(0));
  b.enqueue([] { burn_cpu_ms(5); });
  const Measured m = measure(a, [&] { a.wait_for(b); });
  EXPECT_FALSE(m.cpu.work);
  EXPECT_EQ(m.cpu.cpu_us, 0);
}

TEST(CpuTime, ManyTasksOnOneThreadAreOneThread) {
  CpuAccounting on;
  Stream stream(cpu_device(0));
  const Measured m = measure(stream, [&] {
    for (int i = 0; i < 5; ++i) stream.enqueue([] { burn_cpu_ms(2); });
  });
  ASSERT_TRUE(m.cpu.work);
  EXPECT_TRUE(m.cpu.one_thread);
  EXPECT_GE(m.cpu.cpu_us / 1000, 10 * 0.95);
}

TEST(CpuTime, NestedChargesCountOnce) {
  CpuAccounting on;
  detail::CpuAccount outer, inner;
  {
    detail::ChargeTask charge_outer(&outer);
    burn_cpu_ms(5);
    {
      detail::ChargeTask charge_inner(&inner);  // a task this thread runs while it waits
      burn_cpu_ms(10);
    }
    EXPECT_EQ(detail::charged_account(), &outer);
  }
  EXPECT_EQ(detail::charged_account(), nullptr);
  EXPECT_GE(inner.cpu_ns.load() / 1e6, 10 * 0.95);
  EXPECT_GE(outer.cpu_ns.load() / 1e6, 5 * 0.95);
  EXPECT_LT(outer.cpu_ns.load() / 1e6, 5 + 3) << "the inner task's 10 ms counted twice";
  EXPECT_EQ(outer.tasks, 1);
  EXPECT_EQ(inner.tasks, 1);
}

TEST(CpuTime, OffCountsNothing) {
  ASSERT_FALSE(cpu_accounting_on());
  detail::CpuAccount account;
  {
    detail::ChargeTask charge(&account);
    burn_cpu_ms(2);
  }
  EXPECT_EQ(account.tasks, 0);
  EXPECT_EQ(account.cpu_ns.load(), 0);
  Stream stream(cpu_device(0));
  TimeMark mark = stream.mark();
  stream.synchronize();
  EXPECT_EQ(mark.cpu_usage(), nullptr);  // no reading without accounting
}

}  // namespace
}  // namespace cudp
