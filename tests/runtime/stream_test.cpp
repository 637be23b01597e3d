// Streams, events and time marks on CPU devices (runtime/stream.h): FIFO
// order, cross-stream ordering by events (reused events included), errors
// captured in a worker and rethrown by synchronize, destructors that drain.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "runtime/device.h"
#include "runtime/stream.h"
#include "runtime/error.h"

namespace cudp {
namespace {

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(Stream, RunsClosuresInOrderOnItsOwnThread) {
  Stream stream(cpu_device(0));
  std::vector<int> seen;  // written by the worker only, read after synchronize
  std::thread::id worker;
  for (int i = 0; i < 100; ++i)
    stream.enqueue([&seen, &worker, i] {
      seen.push_back(i);
      worker = std::this_thread::get_id();
    });
  stream.synchronize();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_NE(worker, std::this_thread::get_id());
  EXPECT_EQ(stream.context().threads, 1);
  EXPECT_EQ(stream.cuda_stream(), nullptr);
}

TEST(Stream, WaitForOrdersWorkAcrossStreams) {
  Stream a(cpu_device(0)), b(cpu_device(1));
  int value = 0;  // a writes it late, b reads it: only the event orders them
  int read = -1;
  a.enqueue([&] {
    sleep_ms(30);
    value = 42;
  });
  b.wait_for(a);
  b.enqueue([&] { read = value; });
  b.synchronize();
  EXPECT_EQ(read, 42);
  a.synchronize();
}

TEST(Event, AWaitSeesTheRecordBeforeItNotALaterOne) {
  Stream a(cpu_device(0)), b(cpu_device(1));
  Event event(cpu_device(0));
  std::atomic<int> stage{0};
  std::atomic<bool> release{false};
  a.enqueue([&] { stage = 1; });
  a.record(event);  // generation 1: after stage = 1
  int seen_by_b = -1;
  b.wait(event);
  b.enqueue([&] { seen_by_b = stage.load(); });
  a.enqueue([&] {
    while (!release) sleep_ms(1);  // blocks a; b must not wait for this
    stage = 2;
  });
  a.record(event);  // generation 2, recorded after b's wait was queued
  b.synchronize();  // would hang if b waited for generation 2
  EXPECT_EQ(seen_by_b, 1);
  release = true;
  event.synchronize();
  EXPECT_EQ(stage.load(), 2);
  a.synchronize();
}

TEST(Event, WaitingOnANeverRecordedEventDoesNotBlock) {
  Stream a(cpu_device(0));
  Event event(cpu_device(1));
  a.wait(event);
  bool ran = false;
  a.enqueue([&] { ran = true; });
  a.synchronize();
  EXPECT_TRUE(ran);
  event.synchronize();
}

TEST(Stream, AnExceptionInAClosureIsRethrownBySynchronizeOnce) {
  Stream a(cpu_device(0)), b(cpu_device(1));
  bool later_work_ran = false;
  a.enqueue([] { fail("boom in the worker"); });
  a.enqueue([&] { later_work_ran = true; });  // skipped: the stream holds an error
  b.wait_for(a);                              // records still run, so b does not hang
  bool b_ran = false;
  b.enqueue([&] { b_ran = true; });
  b.synchronize();
  EXPECT_TRUE(b_ran);
  try {
    a.synchronize();
    FAIL() << "synchronize did not rethrow";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("boom in the worker"), std::string::npos);
  }
  EXPECT_FALSE(later_work_ran);
  // The error is reported once; the stream works again afterwards.
  bool after = false;
  a.enqueue([&] { after = true; });
  EXPECT_NO_THROW(a.synchronize());
  EXPECT_TRUE(after);
  // Non-cudp exceptions are kept too.
  a.enqueue([] { throw std::logic_error("plain"); });
  EXPECT_THROW(a.synchronize(), std::logic_error);
}

TEST(Stream, DestructorDrainsPendingWorkAndSwallowsErrors) {
  std::atomic<int> count{0};
  {
    Stream a(cpu_device(0));
    a.enqueue([&] {
      sleep_ms(20);
      ++count;
    });
    a.enqueue([] { throw std::runtime_error("never synchronized"); });
    a.enqueue([&] { ++count; });  // skipped after the error
  }
  EXPECT_EQ(count.load(), 1);
  Stream moved_from(cpu_device(0));
  Stream moved(std::move(moved_from));
  moved.enqueue([&] { ++count; });
  moved.synchronize();
  EXPECT_EQ(count.load(), 2);
}

// A background (copy) stream's tasks may run on the threads that wait for it
// (runtime/cpu_worker.h). Whoever runs them: each once, in order, never two at
// a time, waits ordered after the records they name, and an error skips the
// later work but not the records. Timing decides who runs what, so this only
// reports how many tasks ran on a helper; it fails if helping broke the order.
TEST(Stream, ABackgroundStreamsTasksRunOnceInOrderWhoeverRunsThem) {
  constexpr int kTasks = 400, kWaiters = 3;
  Stream copy(cpu_device(0), 1, StreamPriority::Background);
  std::vector<Stream> waiters;
  std::vector<Event> events;
  for (int k = 0; k < kWaiters; ++k) waiters.emplace_back(cpu_device(k + 1));
  for (int i = 0; i < kTasks / 10; ++i) events.emplace_back(cpu_device(0));
  // Written only by the copy stream's tasks, which the stream orders; slot i
  // is never written after task i, so a waiter may read it then.
  int count = 0;
  std::vector<int> order(kTasks, -1);
  std::vector<std::thread::id> ran_on(kTasks);
  std::atomic<bool> inside{false};
  std::atomic<int> overlaps{0}, early{0};
  for (int i = 0; i < kTasks; ++i) {
    copy.enqueue([&, i] {
      if (inside.exchange(true)) ++overlaps;
      ran_on[count] = std::this_thread::get_id();
      order[count++] = i;
      inside = false;
      if (i == kTasks - 5) fail("boom on the copy stream");
    });
    if (i % 10 != 9) continue;
    Event& event = events[static_cast<std::size_t>(i / 10)];
    copy.record(event);
    Stream& waiter = waiters[static_cast<std::size_t>(i / 10 % kWaiters)];
    waiter.wait(event);
    waiter.enqueue([&, i] {
      if (i < kTasks - 5 && order[i] != i) ++early;  // task i ran before the record
    });
  }
  for (Stream& waiter : waiters) waiter.synchronize();  // helps copy at its waits
  EXPECT_THROW(copy.synchronize(), Error);
  ASSERT_EQ(count, kTasks - 4);  // the work after the error was skipped
  for (int i = 0; i < kTasks - 4; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(early.load(), 0);
  std::map<std::thread::id, int> per_thread;
  for (int i = 0; i < count; ++i) ++per_thread[ran_on[i]];
  std::printf("the %d copy-stream tasks ran on %zu threads\n", kTasks - 4, per_thread.size());
}

// A thread asleep in synchronize() is woken when ITS work is done: here a
// second thread waits for the first task while the host then waits for the
// second, on both a compute and a copy (background) stream. A wake-up given
// to one sleeper must not be lost by the other (the host would hang). The
// second thread may come too late to wait for the first task only (a loaded
// machine): then the round did not test that, and another is run.
TEST(Stream, TwoThreadsSynchronizeAtDifferentPoints) {
  for (StreamPriority priority : {StreamPriority::Normal, StreamPriority::Background}) {
    bool tested = false;
    for (int round = 0; round < 5 && !tested; ++round) {
      Stream stream(cpu_device(0), 1, priority);
      std::atomic<bool> first_done{false}, second_done{false}, early_saw_second{true};
      stream.enqueue([&] {
        sleep_ms(20);
        first_done = true;
      });
      std::thread early([&] {
        stream.synchronize();
        EXPECT_TRUE(first_done.load());
        early_saw_second = second_done.load();
      });
      sleep_ms(5);  // the other thread is asleep in synchronize by now, most likely
      stream.enqueue([&] {
        sleep_ms(40);
        second_done = true;
      });
      stream.synchronize();
      EXPECT_TRUE(second_done.load());
      early.join();
      tested = !early_saw_second.load();  // it was woken before the later task ended
    }
    EXPECT_TRUE(tested) << "the second thread never waited for the first task alone";
  }
}

TEST(TimeMark, MeasuresTheWorkBetweenTwoMarks) {
  Stream a(cpu_device(0));
  TimeMark begin = a.mark();
  a.enqueue([] { sleep_ms(25); });
  TimeMark end = a.mark();
  a.synchronize();
  EXPECT_GE(elapsed_ms(begin, end), 20.0);
  EXPECT_LT(elapsed_ms(begin, end), 2000.0);
  EXPECT_LE(end.microseconds(), host_microseconds());
}

}  // namespace
}  // namespace cudp
