// Fused softmax cross-entropy: PyTorch's CrossEntropyLoss (log-softmax + NLL).
//
//   logits [N, classes], targets [N] (int32 class ids, or ignore_index)
//   loss_i = logsumexp(logits_i) - logits_i[t_i]            for non-ignored rows
//   loss   = sum_i loss_i / count   (Reduction::Mean, count = non-ignored rows;
//            0/0 = NaN when every row is ignored, as PyTorch)
//          = sum_i loss_i           (Reduction::Sum)
//   dlogits_i = (softmax(logits_i) - onehot(t_i)) * scale, scale = 1/count or 1;
//               0 for ignored rows. dlogits may be nullptr (forward only).
// `loss` is ONE float on the device. `first_bad_row` is ONE int32 on the device,
// overwritten with the smallest row whose target is neither in [0, classes) nor
// ignore_index, or -1: such rows are left out of the loss and of count, get zero gradient,
// and the caller must check it (model/loss.h turns it into an error). Nothing
// is ever read out of bounds.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

enum class Reduction { Mean, Sum };

struct CrossEntropyOptions {
  Reduction reduction = Reduction::Mean;
  int32_t ignore_index = -100;  // PyTorch's default
};

CUDP_DECLARE_OP(cross_entropy, int64_t N, int64_t classes, const float* logits,
                const int32_t* targets, const CrossEntropyOptions& options, float* loss,
                float* dlogits, int32_t* first_bad_row)

inline void cross_entropy(const Context& ctx, int64_t N, int64_t classes, const float* logits,
                          const int32_t* targets, const CrossEntropyOptions& options, float* loss,
                          float* dlogits, int32_t* first_bad_row) {
  CUDP_DISPATCH(ctx, cross_entropy, N, classes, logits, targets, options, loss, dlogits,
                first_bad_row);
}

}  // namespace cudp
