// CPU level-1 ops over flat buffers (kernels/axpy.h): y = y + alpha * x, x = alpha * x.
//
// Layout: n contiguous floats. The decision a reader would get wrong: these are
// plain IEEE operations, so alpha == 0 does NOT clear a NaN or an infinity
// (0 * NaN is NaN); callers that want a zeroed buffer must zero it.
#include "kernels/axpy.h"

namespace cudp::cpu {

void axpy(const Context& /*ctx*/, int64_t n, float alpha, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] + alpha * x[i];
}

void scale(const Context& /*ctx*/, int64_t n, float alpha, float* x) {
  for (int64_t i = 0; i < n; ++i) x[i] = alpha * x[i];
}

void scale_by(const Context& ctx, int64_t n, const float* alpha, float* x) {
  cpu::scale(ctx, n, *alpha, x);  // read now, when the op runs (a CPU stream's worker)
}

}  // namespace cudp::cpu
