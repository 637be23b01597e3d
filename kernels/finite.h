// The step's checks on the device: a flag that a loss is not finite, or that
// a target was out of range (the two errors the host raises before SGD).
//
//   mark_not_finite(ctx, n, values, weight, flag)
//       *flag = 1 when some values[i] * (*weight) (values[i] alone when weight is
//       nullptr) is NaN or +-inf; otherwise *flag is left as it was, so several
//       checks queued one after another OR into one flag. All pointers are in
//       ctx's device memory and are read when the op runs.
//   mark_bad_rows(ctx, n, first_bad_rows, flag)
//       *flag = 1 when some first_bad_rows[i] >= 0 (cross_entropy's first row
//       whose target is out of range; -1: none); otherwise left as it was.
// The decision a reader would get wrong: the product is checked, not the value
// alone. A ddp shard whose targets are all ignored has a loss sum of 0; when no
// target of the whole batch counts, the weight 1/0 is inf and 0 * inf is NaN, the
// same NaN the host's loss (sum / count) shows. The SGD kernels read the flag
// (SgdStepScalars::skip, kernels/sgd.h) and leave the parameters untouched.
#pragma once

#include <cstdint>

#include "kernels/dispatch.h"

namespace cudp {

CUDP_DECLARE_OP(mark_not_finite, int64_t n, const float* values, const float* weight, int32_t* flag)

CUDP_DECLARE_OP(mark_bad_rows, int64_t n, const int32_t* first_bad_rows, int32_t* flag)

inline void mark_bad_rows(const Context& ctx, int64_t n, const int32_t* first_bad_rows,
                          int32_t* flag) {
  CUDP_DISPATCH(ctx, mark_bad_rows, n, first_bad_rows, flag);
}

inline void mark_not_finite(const Context& ctx, int64_t n, const float* values, const float* weight,
                            int32_t* flag) {
  CUDP_DISPATCH(ctx, mark_not_finite, n, values, weight, flag);
}

}  // namespace cudp
