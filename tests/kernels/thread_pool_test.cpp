// The fork-join behind ctx.threads (runtime/thread_pool.h), and the CPU ops called
// from several threads at once, as several CPU devices' stream workers call them.
//
// (It tests runtime/ code but lives with the kernel tests: its reason to exist is
// the ops' threads, and the concurrency test runs the ops themselves.)
// Run under ThreadSanitizer too (a build with -DCUDP_SANITIZE=thread).
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "runtime/context.h"
#include "runtime/thread_pool.h"
#include "tests/common/poison.h"
#include "tests/kernels/versions_check.h"

namespace cudp {
namespace {

TEST(ThreadPool, EveryShareRunsOnceAndShareZeroOnTheCaller) {
  for (int threads = 1; threads <= 5; ++threads) {
    std::vector<int> runs(static_cast<size_t>(threads), 0);  // share t writes only slot t
    std::thread::id share_zero;
    parallel_run(threads, [&](int t) {
      ++runs[static_cast<size_t>(t)];
      if (t == 0) share_zero = std::this_thread::get_id();
    });
    EXPECT_EQ(runs, std::vector<int>(static_cast<size_t>(threads), 1)) << "threads=" << threads;
    EXPECT_EQ(share_zero, std::this_thread::get_id()) << "threads=" << threads;
  }
}

TEST(ThreadPool, SplitRangeCoversEverythingInOrderWithSharesWithinOne) {
  for (int64_t count : {0, 1, 5, 64, 1001})
    for (int parts = 1; parts <= 7; ++parts) {
      int64_t next = 0, smallest = count, largest = 0;
      for (int t = 0; t < parts; ++t) {
        const Range r = split_range(count, parts, t);
        EXPECT_EQ(r.begin, next) << "count=" << count << " parts=" << parts << " t=" << t;
        next = r.end;
        smallest = std::min(smallest, r.end - r.begin);
        largest = std::max(largest, r.end - r.begin);
      }
      EXPECT_EQ(next, count) << "count=" << count << " parts=" << parts;
      EXPECT_LE(largest - smallest, 1) << "count=" << count << " parts=" << parts;
    }
}

TEST(ThreadPool, ThreadsForStaysWithinOneAndTheBudget) {
  EXPECT_EQ(threads_for(4, 1e9, 1e6, 100), 4);
  EXPECT_EQ(threads_for(4, 2.5e6, 1e6, 100), 2);  // 2.5 shares' worth of work
  EXPECT_EQ(threads_for(4, 1e9, 1e6, 3), 3);      // only 3 pieces
  EXPECT_EQ(threads_for(4, 10, 1e6, 100), 1);
  EXPECT_EQ(threads_for(1, 1e9, 1e6, 100), 1);
  EXPECT_EQ(threads_for(0, 1e9, 1e6, 100), 1);
  EXPECT_EQ(threads_for(4, 1e9, 1e6, 0), 1);
}

TEST(ThreadPool, NestedForksRunInlineWithoutDeadlock) {
  std::atomic<int> inner{0};
  parallel_run(3, [&](int) {
    const std::thread::id outer = std::this_thread::get_id();
    parallel_run(3, [&](int) {
      EXPECT_EQ(std::this_thread::get_id(), outer);  // flattened onto this thread
      ++inner;
    });
  });
  EXPECT_EQ(inner.load(), 9);
}

TEST(ThreadPool, AnExceptionReachesTheCallerAndThePoolStaysUsable) {
  EXPECT_THROW(parallel_run(3,
                            [](int t) {
                              if (t == 2) throw std::runtime_error("share 2 failed");
                            }),
               std::runtime_error);
  std::atomic<int> runs{0};
  parallel_run(3, [&](int) { ++runs; });
  EXPECT_EQ(runs.load(), 3);
}

TEST(ThreadPool, ACallerThreadThatExitsTakesItsHelpersWithIt) {
  for (int i = 0; i < 4; ++i) {
    std::atomic<int> runs{0};
    std::thread caller([&] { parallel_run(2 + i, [&](int) { ++runs; }); });
    caller.join();  // joins the caller's helpers in its thread_local pool's destructor
    EXPECT_EQ(runs.load(), 2 + i);
  }
}

// Two "CPU devices" (threads), each running GEMMs and convolutions with its own
// ctx.threads = 2 at the same time, must neither deadlock nor disturb each
// other: every result is bitwise the one-thread result.
TEST(ThreadPool, OpsCalledFromSeveralThreadsAtOnceGiveTheOneThreadBits) {
  const int64_t M = 70, N = 300, K = 200;
  const auto A = test::random_floats(M * K, 1), B = test::random_floats(K * N, 2);
  Conv2dShape s;
  s.N = 4, s.C = 16, s.H = 12, s.W = 12, s.K = 32, s.R = 3, s.S = 3, s.stride = 1, s.padding = 1;
  const auto x = test::random_floats(s.x_size(), 3), w = test::random_floats(s.w_size(), 4);
  const auto dy = test::random_floats(s.y_size(), 5);

  auto gemm_once = [&](int threads) {
    auto C = test::nan_filled(M * N);
    gemm(cpu_context(threads), GemmLayout::NT, M, N, K, 1.0f, A.data(), B.data(), 0.0f, C.data());
    return C;
  };
  auto conv_once = [&](int threads) {
    auto dw = test::nan_filled(s.w_size()), y = test::nan_filled(s.y_size());
    conv2d_forward(cpu_context(threads), s, x.data(), w.data(), y.data());
    conv2d_backward_weight(cpu_context(threads), s, x.data(), dy.data(), dw.data());
    y.insert(y.end(), dw.begin(), dw.end());
    return y;
  };
  const auto gemm_ref = gemm_once(1), conv_ref = conv_once(1);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> devices;
  for (int d = 0; d < 3; ++d)
    devices.emplace_back([&, d] {
      for (int i = 0; i < 20; ++i) {
        if (!test::same_bits(gemm_once(2 + d % 2), gemm_ref, "gemm")) ++mismatches;
        if (!test::same_bits(conv_once(2), conv_ref, "conv")) ++mismatches;
      }
    });
  for (std::thread& t : devices) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace cudp
