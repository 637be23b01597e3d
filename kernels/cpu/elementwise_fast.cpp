// CPU ReLU and bias v2 (elementwise_versions.h): v1's loops on ctx.threads shares.
//
// Layout: as v1 (flat ranges; bias over [N, K, inner]). v2 cuts the work into
// ctx.threads fixed shares and runs v1's loops on each share:
//   relu        contiguous element ranges, in whole 64-element (256-byte) chunks
//   bias_add    samples n (each [K, inner] block is independent)
//   bias_grad   channels k (each db[k] is one whole double sum, as in v1)
//
// The decision a reader would get wrong: a share is never cut out of a sum,
// and ReLU and the bias add are one IEEE operation per element, so the bits
// are those of v1 for every thread count. Small calls stay on one thread
// (threads_for): a fork costs microseconds and would dominate a Linear's bias.
#include <algorithm>

#include "kernels/cpu/elementwise_versions.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

constexpr int64_t kChunk = 64;                   // elements; shares start on chunk bounds
constexpr double kMinElementsPerThread = 32768;  // 128 KiB of floats

// Runs body(begin, end) on fixed shares of [0, n), in whole chunks of kChunk.
template <class Body>
void for_chunks(const Context& ctx, int64_t n, Body body) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int threads =
      threads_for(ctx.threads, static_cast<double>(n), kMinElementsPerThread, chunks);
  if (threads <= 1) return body(int64_t{0}, n);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(chunks, threads, t);
    body(r.begin * kChunk, std::min(n, r.end * kChunk));
  });
}

}  // namespace

void relu_forward_v2(const Context& ctx, int64_t n, const float* x, float* y) {
  for_chunks(ctx, n, [&](int64_t b, int64_t e) { relu_forward_v1(ctx, e - b, x + b, y + b); });
}

void relu_backward_v2(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(ctx, n,
             [&](int64_t b, int64_t e) { relu_backward_v1(ctx, e - b, y + b, dy + b, dx + b); });
}

void bias_add_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b,
                 float* y) {
  const int threads =
      threads_for(ctx.threads, static_cast<double>(N * K * inner), kMinElementsPerThread, N);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(N, threads, t);
    bias_add_v1(ctx, r.end - r.begin, K, inner, b, y + r.begin * K * inner);
  });
}

void bias_grad_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
                  float* db) {
  const int threads =
      threads_for(ctx.threads, static_cast<double>(N * K * inner), kMinElementsPerThread, K);
  parallel_run(threads, [&](int t) {
    const Range r = split_range(K, threads, t);
    bias_grad_channels(N, K, inner, dy, db, r.begin, r.end);
  });
}

}  // namespace cudp::cpu
