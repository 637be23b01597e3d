// Fork-join over a few threads, for the CPU ops that may use ctx.threads.
//
// parallel_run(threads, body) calls body(t) for t = 0 .. threads-1, each on its
// own thread, and returns when all have returned. The CALLING thread runs
// body(0); bodies 1.. run on helpers owned by the calling thread (a pool per
// calling thread, created on first use and kept until that thread exits).
//
// The decisions a reader would get wrong:
//  - there is no global pool and no work stealing: two CPU devices (two stream
//    workers) that call in at once each fork onto their own helpers, so they
//    never wait on each other and cannot deadlock;
//  - the split of work is STATIC (body t always gets the same share for a given
//    thread count), which is what makes the ops deterministic; which OS thread
//    runs a share does not matter because shares never share mutable state;
//  - threads == 1 never touches a pool (no thread is created), and a call made
//    from inside a body runs all of its bodies inline on that thread (nested
//    parallelism is flattened, never deadlocked);
//  - an exception thrown by any body is rethrown in the caller after all
//    bodies have finished (the first one, by thread index).
#pragma once

#include <cstdint>
#include <functional>

namespace cudp {

void parallel_run(int threads, const std::function<void(int thread)>& body);

// [begin, end) of share t when `count` items are split into `parts` contiguous
// shares whose sizes differ by at most one (the first count % parts are larger).
struct Range {
  int64_t begin, end;
};
Range split_range(int64_t count, int parts, int t);

// Threads worth using for `work` units when each thread should get at least
// `min_work_per_thread` of them, and no more than `shares` (the pieces the work
// can be cut into): always in 1 .. max(threads, 1).
int threads_for(int threads, double work, double min_work_per_thread, int64_t shares);

}  // namespace cudp
