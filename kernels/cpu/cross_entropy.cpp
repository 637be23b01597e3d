// CPU fused softmax cross-entropy: PyTorch's CrossEntropyLoss (kernels/cross_entropy.h).
//
// Versions (cross_entropy_version, kernels/cpu/versions.h): v1 only, one thread
// (the loss is [batch, classes], a few thousand exps); the public op runs it.
//
// Layout: logits and dlogits [N, classes] row-major, targets [N] int32; loss
// and first_bad_row are single values written once.
// Each row is computed in double from a numerically stable log-softmax:
//   m = max_j x_j,  lse = m + log(sum_j exp(x_j - m)),  loss_i = lse - x_t,
//   dlogits_ij = (exp(x_j - lse) - [j == t]) * scale.
// The decisions a reader would get wrong:
//  - a row is ignored when its target equals ignore_index, which is tested
//    FIRST (ignore_index may lie inside [0, classes));
//  - a row whose target is otherwise outside [0, classes) is "bad": it is left
//    out of the loss and of the mean's count, gets zero gradient, its logits
//    are never indexed by the target, and the smallest such row is reported;
//  - the mean divides by the count of rows that entered the loss, so every row
//    ignored gives 0/0 = NaN (as PyTorch) while the gradient stays all zero.
#include <cmath>
#include <limits>

#include "kernels/cpu/versions.h"

namespace cudp::cpu {
namespace {

void cross_entropy_v1(int64_t N, int64_t classes, const float* logits, const int32_t* targets,
                      const CrossEntropyOptions& options, float* loss, float* dlogits,
                      int32_t* first_bad_row) {
  CUDP_ASSERT(N >= 0 && classes > 0);
  // Pass 1: classify rows, so that the mean's scale is known before any gradient.
  int64_t count = 0;
  int64_t bad = -1;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t t = targets[i];
    if (t == options.ignore_index) continue;
    if (t < 0 || t >= classes) {
      if (bad < 0) bad = i;
      continue;
    }
    ++count;
  }
  const bool mean = options.reduction == Reduction::Mean;
  // 1/0 = inf when every row is ignored, but then no row's gradient uses it.
  const double scale = mean ? 1.0 / static_cast<double>(count) : 1.0;
  // Pass 2: loss and gradient, row by row.
  double total = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    const float* x = logits + i * classes;
    float* dx = dlogits ? dlogits + i * classes : nullptr;
    const int32_t t = targets[i];
    if (t == options.ignore_index || t < 0 || t >= classes) {
      if (dx)
        for (int64_t j = 0; j < classes; ++j) dx[j] = 0.0f;
      continue;
    }
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < classes; ++j)
      if (x[j] > m || std::isnan(x[j])) m = x[j];  // a NaN logit makes the row NaN
    double sum_exp = 0.0;
    for (int64_t j = 0; j < classes; ++j) sum_exp += std::exp(x[j] - m);
    const double lse = m + std::log(sum_exp);
    total += lse - x[t];
    if (dx)
      for (int64_t j = 0; j < classes; ++j)
        dx[j] = static_cast<float>((std::exp(x[j] - lse) - (j == t ? 1.0 : 0.0)) * scale);
  }
  *loss = mean ? (count == 0 ? std::numeric_limits<float>::quiet_NaN()
                             : static_cast<float>(total / static_cast<double>(count)))
               : static_cast<float>(total);
  *first_bad_row = static_cast<int32_t>(bad);
}

}  // namespace

int cross_entropy_versions() { return 1; }
int cross_entropy_default_version() { return 1; }

void cross_entropy_version(int version, const Context& /*ctx*/, int64_t N, int64_t classes,
                           const float* logits, const int32_t* targets,
                           const CrossEntropyOptions& options, float* loss, float* dlogits,
                           int32_t* first_bad_row) {
  check_version("cross_entropy", version, cross_entropy_versions());
  cross_entropy_v1(N, classes, logits, targets, options, loss, dlogits, first_bad_row);
}

void cross_entropy(const Context& ctx, int64_t N, int64_t classes, const float* logits,
                   const int32_t* targets, const CrossEntropyOptions& options, float* loss,
                   float* dlogits, int32_t* first_bad_row) {
  cross_entropy_version(cross_entropy_default_version(), ctx, N, classes, logits, targets, options,
                        loss, dlogits, first_bad_row);
}

}  // namespace cudp::cpu
