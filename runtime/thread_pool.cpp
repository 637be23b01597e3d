// The per-calling-thread helper pools behind parallel_run (runtime/thread_pool.h).
//
// Layout: each thread that ever forks owns one HelperPool (thread_local) with
// helpers 1..n. A fork publishes the job under the pool's mutex and bumps a
// generation counter; helper t runs body(t) if t < threads, then counts itself
// done. The caller runs body(0) meanwhile and waits for the count.
//
// The decision a reader would get wrong: every hand-off goes through the mutex
// and two condition variables (no lock-free flags), so ThreadSanitizer sees
// each body's writes happen-before the caller's return. A helper that has no
// share in a smaller fork still acknowledges the generation, so a later fork
// never sees a stale count. The pool grows (joining the old helpers) when a
// fork asks for more threads than it has; it never shrinks. A helper charges
// its share's CPU time to the forking thread's stream task (cpu_time.h).
#include "runtime/thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/cpu_time.h"

namespace cudp {
namespace {

thread_local bool inside_parallel_body = false;

class HelperPool {
 public:
  explicit HelperPool(int helpers) {
    errors_.resize(static_cast<size_t>(helpers) + 1);
    for (int t = 1; t <= helpers; ++t) threads_.emplace_back([this, t] { helper_loop(t); });
  }
  HelperPool(const HelperPool&) = delete;
  HelperPool& operator=(const HelperPool&) = delete;
  ~HelperPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  int helpers() const { return static_cast<int>(threads_.size()); }

  // body(0) here, body(1 .. threads-1) on helpers; threads - 1 <= helpers().
  void run(int threads, const std::function<void(int)>& body) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      account_ = detail::charged_account();  // null unless accounting is on
      threads_wanted_ = threads;
      pending_ = helpers();  // every helper acknowledges, busy or not
      std::fill(errors_.begin(), errors_.end(), nullptr);
      ++generation_;
    }
    wake_.notify_all();
    run_one(body, 0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    body_ = nullptr;
    for (const std::exception_ptr& e : errors_)
      if (e) std::rethrow_exception(e);
  }

 private:
  void run_one(const std::function<void(int)>& body, int t) {
    inside_parallel_body = true;
    try {
      body(t);
    } catch (...) {
      errors_[static_cast<size_t>(t)] = std::current_exception();  // slot t is ours alone
    }
    inside_parallel_body = false;
  }

  void helper_loop(int t) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      const std::function<void(int)>* body = body_;
      detail::CpuAccount* const account = account_;
      const bool mine = t < threads_wanted_;
      lock.unlock();
      if (mine) {
        const int64_t start = account ? thread_cpu_ns() : 0;
        run_one(*body, t);
        if (account) detail::charge_helper(account, thread_cpu_ns() - start);
      }
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* body_ = nullptr;
  detail::CpuAccount* account_ = nullptr;  // the forking thread's stream task's
  int threads_wanted_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::exception_ptr> errors_;
  std::vector<std::thread> threads_;
};

HelperPool& pool_with(int helpers) {
  thread_local std::unique_ptr<HelperPool> pool;
  if (!pool || pool->helpers() < helpers) {
    pool.reset();  // join the old helpers first
    pool = std::make_unique<HelperPool>(helpers);
  }
  return *pool;
}

}  // namespace

void parallel_run(int threads, const std::function<void(int thread)>& body) {
  if (threads <= 1 || inside_parallel_body) {
    for (int t = 0; t < std::max(threads, 1); ++t) body(t);
    return;
  }
  pool_with(threads - 1).run(threads, body);
}

Range split_range(int64_t count, int parts, int t) {
  const int64_t base = count / parts, extra = count % parts;
  // shares 0 .. extra-1 hold base + 1 items, the rest hold base
  const int64_t begin = t * base + std::min<int64_t>(t, extra);
  return {begin, begin + base + (t < extra ? 1 : 0)};
}

int threads_for(int threads, double work, double min_work_per_thread, int64_t shares) {
  if (threads <= 1) return 1;
  double fit = min_work_per_thread > 0 ? work / min_work_per_thread : threads;
  fit = std::min(fit, static_cast<double>(shares));
  return fit < 2 ? 1 : static_cast<int>(std::min<double>(threads, fit));
}

}  // namespace cudp
