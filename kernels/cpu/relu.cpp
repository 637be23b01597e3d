// CPU ReLU, forward and backward over n elements (kernels/relu.h).
//
// Versions (relu_*_version, kernels/cpu/versions.h; the public ops run the default, v2):
//   v1: the plain loops, one thread
//   v2: v1's loops on ctx.threads fixed shares of the range, in whole 64-element
//       (256-byte) chunks; small calls stay on one thread (threads_for), as a fork
//       costs microseconds
// ReLU is one comparison per element, so v2 gives v1's bits for every thread count.
//
// Layout: flat; y may alias x and dx may alias dy (one read, then one write
// per element). The decision a reader would get wrong is NaN: forward keeps a
// NaN (torch.relu(nan) is nan), so it is written `x < 0 ? 0 : x`, not
// `max(x, 0)`, whose result for NaN depends on the argument order. Backward
// follows PyTorch's threshold_backward, `y <= 0 ? 0 : dy`: identical to the
// header's `y > 0 ? dy : 0` except that a NaN output passes its gradient on.
#include <algorithm>

#include "kernels/cpu/versions.h"
#include "runtime/thread_pool.h"

namespace cudp::cpu {
namespace {

// ---------------------------------------------------------------- v1: plain loops

void relu_forward_v1(int64_t n, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

void relu_backward_v1(int64_t n, const float* y, const float* dy, float* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
}

// ---------------------------------------------------------------- v2: v1 on thread shares

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

void relu_forward_v2(const Context& ctx, int64_t n, const float* x, float* y) {
  for_chunks(ctx, n, [&](int64_t b, int64_t e) { relu_forward_v1(e - b, x + b, y + b); });
}

void relu_backward_v2(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  for_chunks(ctx, n, [&](int64_t b, int64_t e) { relu_backward_v1(e - b, y + b, dy + b, dx + b); });
}

}  // namespace

// ---------------------------------------------------------------- dispatch

int relu_versions() { return 2; }
int relu_default_version() { return 2; }

void relu_forward_version(int version, const Context& ctx, int64_t n, const float* x, float* y) {
  check_version("relu_forward", version, relu_versions());
  if (version == 1) return relu_forward_v1(n, x, y);
  relu_forward_v2(ctx, n, x, y);
}

void relu_backward_version(int version, const Context& ctx, int64_t n, const float* y,
                           const float* dy, float* dx) {
  check_version("relu_backward", version, relu_versions());
  if (version == 1) return relu_backward_v1(n, y, dy, dx);
  relu_backward_v2(ctx, n, y, dy, dx);
}

void relu_forward(const Context& ctx, int64_t n, const float* x, float* y) {
  relu_forward_version(relu_default_version(), ctx, n, x, y);
}
void relu_backward(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx) {
  relu_backward_version(relu_default_version(), ctx, n, y, dy, dx);
}

}  // namespace cudp::cpu
