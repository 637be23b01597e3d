// CUDA fused softmax cross-entropy: PyTorch's CrossEntropyLoss (kernels/cross_entropy.h).
//
// Versions (cross_entropy_version; the public op runs the default, v2):
//   v1: one thread per row: max, sum of exponentials and gradient in three passes.
//   v2: one warp per row: an online max/sum (one read of the row, float4 when classes % 4
//       == 0 and logits are 16-byte aligned), a shuffle reduction, then the gradient pass.
// Both versions run the same three launches:
//   1. cross_entropy_count_kernel (one block): count of rows that enter the loss and the
//      first bad row, both reduced with CUB (deterministic); the mean's scale needs the
//      count before any gradient is written;
//   2. the row kernel: loss_i into a scratch array (0 for ignored and bad rows) and dlogits;
//   3. cross_entropy_sum_kernel (one block): sum_i loss_i in double, in a fixed order, with
//      a CUB block reduction, then / count (Mean) -> the one float `loss`.
//
// Scratch (kernels/cuda/common.cuh): [count int32 | pad | loss_i float x N], cached per
// stream and grown only when N grows, so a steady-state step does not allocate.
// The decisions a reader would get wrong:
//  - a row is ignored when its target equals ignore_index (tested FIRST, it may lie inside
//    [0, classes)); otherwise a target outside [0, classes) makes the row bad: no loss, zero
//    gradient, never indexed, and the smallest bad row is reported in first_bad_row;
//  - Mean over zero counted rows is 0/0 = NaN, as PyTorch, and the gradient stays zero;
//  - a NaN or +inf logit makes its row's loss and gradient NaN (the online sum carries it), as
//    the CPU twin's max-shifted exp(inf - inf); a -inf logit is a zero probability, and a
//    row of -inf only is NaN (-inf - -inf) in both.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include "kernels/cross_entropy.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/versions.h"

namespace cudp::cuda {
namespace {

constexpr int kReduceThreads = 1024;
constexpr int kRowThreads = 256;
constexpr size_t kLossOffset = 16;  // bytes before loss_i in the scratch buffer

struct CeArgs {
  int64_t N, classes;
  const float* logits;
  const int32_t* targets;
  int32_t ignore_index;
  bool mean;
  float* dlogits;
  const int32_t* count;  // written by the count kernel
  float* row_loss;       // [N]
};

struct MinInt64 {  // cub::Min left CUB in CCCL 3 (CUDA 13): our own, for any CUB
  __device__ __forceinline__ int64_t operator()(int64_t a, int64_t b) const {
    return b < a ? b : a;
  }
};

__device__ __forceinline__ bool counted(int32_t t, int32_t ignore_index, int64_t classes) {
  return t != ignore_index && t >= 0 && t < classes;
}

__global__ void __launch_bounds__(kReduceThreads)
    cross_entropy_count_kernel(int64_t N, int64_t classes, const int32_t* __restrict__ targets,
                               int32_t ignore_index, int32_t* __restrict__ count,
                               int32_t* __restrict__ first_bad_row) {
  using IntReduce = cub::BlockReduce<int64_t, kReduceThreads>;
  __shared__ typename IntReduce::TempStorage temp;
  int64_t n_counted = 0, first_bad = INT64_MAX;
  for (int64_t i = threadIdx.x; i < N; i += kReduceThreads) {
    const int32_t t = targets[i];
    if (counted(t, ignore_index, classes))
      ++n_counted;
    else if (t != ignore_index && i < first_bad)
      first_bad = i;
  }
  const int64_t total = IntReduce(temp).Sum(n_counted);
  __syncthreads();  // temp is reused
  const int64_t bad = IntReduce(temp).Reduce(first_bad, MinInt64{});
  if (threadIdx.x == 0) {
    *count = static_cast<int32_t>(total);
    *first_bad_row = bad == INT64_MAX ? -1 : static_cast<int32_t>(bad);
  }
}

__global__ void __launch_bounds__(kReduceThreads)
    cross_entropy_sum_kernel(int64_t N, const float* __restrict__ row_loss,
                             const int32_t* __restrict__ count, bool mean,
                             float* __restrict__ loss) {
  using DoubleReduce = cub::BlockReduce<double, kReduceThreads>;
  __shared__ typename DoubleReduce::TempStorage temp;
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < N; i += kReduceThreads) sum += row_loss[i];
  const double total = DoubleReduce(temp).Sum(sum);
  if (threadIdx.x == 0) {
    const int32_t c = *count;
    *loss = mean ? (c == 0 ? __int_as_float(0x7fc00000) : static_cast<float>(total / c))
                 : static_cast<float>(total);
  }
}

// ---------------------------------------------------------------- v1: thread per row
__global__ void cross_entropy_kernel1(CeArgs a) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const float scale = a.mean ? 1.0f / static_cast<float>(*a.count) : 1.0f;
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; row < a.N;
       row += step) {
    const float* x = a.logits + row * a.classes;
    float* dx = a.dlogits ? a.dlogits + row * a.classes : nullptr;
    const int32_t t = a.targets[row];
    if (!counted(t, a.ignore_index, a.classes)) {
      a.row_loss[row] = 0.0f;
      if (dx)
        for (int64_t j = 0; j < a.classes; ++j) dx[j] = 0.0f;
      continue;
    }
    float m = -INFINITY;
    for (int64_t j = 0; j < a.classes; ++j)
      if (x[j] > m || isnan(x[j])) m = x[j];
    float sum = 0.0f;
    for (int64_t j = 0; j < a.classes; ++j) sum += expf(x[j] - m);
    const float lse = m + logf(sum);
    a.row_loss[row] = lse - x[t];
    if (dx)
      for (int64_t j = 0; j < a.classes; ++j)
        dx[j] = (expf(x[j] - lse) - (j == t ? 1.0f : 0.0f)) * scale;
  }
}

// ---------------------------------------------------------------- v2: warp per row
// Online softmax state: m = running max, s = sum of exp(x - m). -inf logits add nothing (and
// never meet -inf - -inf = NaN); a NaN or +inf logit makes s NaN, which survives every later
// step. +inf must: the CPU twin (and PyTorch) shifts by the max, and exp(inf - inf) is NaN,
// while the online update alone would give s = 1, lse = inf and a finite-looking gradient.
__device__ __forceinline__ void online_add(float x, float& m, float& s) {
  if (isnan(x) || x == INFINITY) {
    s = __int_as_float(0x7fc00000);  // quiet NaN
  } else if (x > m) {
    s = s * expf(m - x) + 1.0f;  // expf(-inf) = 0 on the first element
    m = x;
  } else if (x != -INFINITY) {
    s += expf(x - m);
  }
}

// Merges (m2, s2) into (m, s); a state with s == 0 holds no element and contributes nothing.
__device__ __forceinline__ void online_merge(float& m, float& s, float m2, float s2) {
  const float mm = fmaxf(m, m2);
  const float a = s == 0.0f ? 0.0f : s * expf(m - mm);
  const float b = s2 == 0.0f ? 0.0f : s2 * expf(m2 - mm);
  m = mm;
  s = a + b;
}

template <bool kVec>
__global__ void __launch_bounds__(kRowThreads) cross_entropy_kernel2(CeArgs a) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (kRowThreads / 32);
  const float scale = a.mean ? 1.0f / static_cast<float>(*a.count) : 1.0f;
  for (int64_t row = (blockIdx.x * static_cast<int64_t>(kRowThreads) + threadIdx.x) / 32; row < a.N;
       row += warps) {
    const float* x = a.logits + row * a.classes;
    float* dx = a.dlogits ? a.dlogits + row * a.classes : nullptr;
    const int32_t t = a.targets[row];  // the same for the whole warp: no divergence below
    if (!counted(t, a.ignore_index, a.classes)) {
      if (lane == 0) a.row_loss[row] = 0.0f;
      if (dx)
        for (int64_t j = lane; j < a.classes; j += 32) dx[j] = 0.0f;
      continue;
    }
    float m = -INFINITY, s = 0.0f;
    if constexpr (kVec) {
      const float4* x4 = reinterpret_cast<const float4*>(x);
      for (int64_t v = lane; v < a.classes / 4; v += 32) {
        const float4 f = x4[v];
        online_add(f.x, m, s);
        online_add(f.y, m, s);
        online_add(f.z, m, s);
        online_add(f.w, m, s);
      }
    } else {
      for (int64_t j = lane; j < a.classes; j += 32) online_add(x[j], m, s);
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      const float m2 = __shfl_xor_sync(0xffffffffu, m, offset);
      const float s2 = __shfl_xor_sync(0xffffffffu, s, offset);
      online_merge(m, s, m2, s2);
    }
    // Every lane holds the same (m, s): the butterfly visits all 32 in the same order.
    const float lse = m + logf(s);
    if (lane == 0) a.row_loss[row] = lse - x[t];
    if (dx) {
      if constexpr (kVec) {
        const float4* x4 = reinterpret_cast<const float4*>(x);
        float4* d4 = reinterpret_cast<float4*>(dx);
        for (int64_t v = lane; v < a.classes / 4; v += 32) {
          const float4 f = x4[v];
          const int64_t j = 4 * v;
          d4[v] = make_float4((expf(f.x - lse) - (j == t ? 1.0f : 0.0f)) * scale,
                              (expf(f.y - lse) - (j + 1 == t ? 1.0f : 0.0f)) * scale,
                              (expf(f.z - lse) - (j + 2 == t ? 1.0f : 0.0f)) * scale,
                              (expf(f.w - lse) - (j + 3 == t ? 1.0f : 0.0f)) * scale);
        }
      } else {
        for (int64_t j = lane; j < a.classes; j += 32)
          dx[j] = (expf(x[j] - lse) - (j == t ? 1.0f : 0.0f)) * scale;
      }
    }
  }
}

}  // namespace

int cross_entropy_versions() { return 2; }
int cross_entropy_default_version() { return 2; }

void cross_entropy_version(int version, const Context& ctx, int64_t N, int64_t classes,
                           const float* logits, const int32_t* targets,
                           const CrossEntropyOptions& options, float* loss, float* dlogits,
                           int32_t* first_bad_row) {
  if (version < 1 || version > cross_entropy_versions())
    fail("cross_entropy (cuda): version ", version, " does not exist (1..",
         cross_entropy_versions(), ")");
  if (N < 0 || classes <= 0)
    fail("cross_entropy (cuda): expected N >= 0 and classes > 0, found N = ", N,
         ", classes = ", classes);
  if (N > 0x7fffffff) fail("cross_entropy (cuda): N = ", N, " rows exceed the int32 count");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  auto* scratch = static_cast<char*>(
      cuda_detail::scratch(ctx, kLossOffset + static_cast<size_t>(N) * sizeof(float)));
  auto* count = reinterpret_cast<int32_t*>(scratch);
  auto* row_loss = reinterpret_cast<float*>(scratch + kLossOffset);
  const bool mean = options.reduction == Reduction::Mean;

  cross_entropy_count_kernel<<<1, kReduceThreads, 0, stream>>>(
      N, classes, targets, options.ignore_index, count, first_bad_row);
  CUDP_LAUNCH_CHECK("cross_entropy_count_kernel", stream);
  if (N > 0) {
    const CeArgs args{N,    classes, logits, targets, options.ignore_index,
                      mean, dlogits, count,  row_loss};
    if (version == 1) {
      cross_entropy_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, N, kRowThreads),
                              kRowThreads, 0, stream>>>(args);
      CUDP_LAUNCH_CHECK("cross_entropy_kernel1", stream);
    } else {
      const unsigned blocks =
          cuda_detail::grid_stride_blocks(ctx.device.index, N * 32, kRowThreads, 16);
      const bool vec = classes % 4 == 0 && cuda_detail::aligned16(logits) &&
                       (dlogits == nullptr || cuda_detail::aligned16(dlogits));
      if (vec)
        cross_entropy_kernel2<true><<<blocks, kRowThreads, 0, stream>>>(args);
      else
        cross_entropy_kernel2<false><<<blocks, kRowThreads, 0, stream>>>(args);
      CUDP_LAUNCH_CHECK("cross_entropy_kernel2", stream);
    }
  }
  cross_entropy_sum_kernel<<<1, kReduceThreads, 0, stream>>>(N, row_loss, count, mean, loss);
  CUDP_LAUNCH_CHECK("cross_entropy_sum_kernel", stream);
}

void cross_entropy(const Context& ctx, int64_t N, int64_t classes, const float* logits,
                   const int32_t* targets, const CrossEntropyOptions& options, float* loss,
                   float* dlogits, int32_t* first_bad_row) {
  cross_entropy_version(cross_entropy_default_version(), ctx, N, classes, logits, targets, options,
                        loss, dlogits, first_bad_row);
}

}  // namespace cudp::cuda
