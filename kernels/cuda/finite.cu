// CUDA step checks (kernels/finite.h): one block each, n is a handful of losses.
//
// The flag is only ever set, never cleared here: the host clears it with the
// step's other scalars before the step (model/sgd.h), so the kernel needs no
// reduction and checks queued on one stream OR together.
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/finite.h"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 32;

__global__ void mark_not_finite_kernel(int64_t n, const float* values, const float* weight,
                                       int32_t* flag) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const float v = weight ? __fmul_rn(values[i], *weight) : values[i];
    if (!isfinite(v)) *flag = 1;  // every writer writes the same 1: no atomic needed
  }
}

__global__ void mark_bad_rows_kernel(int64_t n, const int32_t* first_bad_rows, int32_t* flag) {
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (first_bad_rows[i] >= 0) *flag = 1;
}

}  // namespace

void mark_bad_rows(const Context& ctx, int64_t n, const int32_t* first_bad_rows, int32_t* flag) {
  if (n < 0) fail("mark_bad_rows (cuda): n must be >= 0, found ", n);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  mark_bad_rows_kernel<<<1, kThreads, 0, stream>>>(n, first_bad_rows, flag);
  CUDP_LAUNCH_CHECK("mark_bad_rows_kernel", stream);
}

void mark_not_finite(const Context& ctx, int64_t n, const float* values, const float* weight,
                     int32_t* flag) {
  if (n < 0) fail("mark_not_finite (cuda): n must be >= 0, found ", n);
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  mark_not_finite_kernel<<<1, kThreads, 0, stream>>>(n, values, weight, flag);
  CUDP_LAUNCH_CHECK("mark_not_finite_kernel", stream);
}

}  // namespace cudp::cuda
