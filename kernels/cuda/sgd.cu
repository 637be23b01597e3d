// CUDA SGD step over one flat parameter buffer: torch.optim.SGD's update (kernels/sgd.h).
//
// Versions (sgd_step_version; the public op runs the default, v2):
//   v1: one element per loop step, grid-stride, one launch.
//   v2: float4 per loop step, grid-stride, one launch, when params, grads and (with momentum)
//       the buffer are all 16-byte aligned; the n % 4 tail is done after the vector loop by
//       the first threads (v1 runs otherwise).
//
// The decision a reader would get wrong: the arithmetic is written with __fmul_rn /
// __fadd_rn / __fsub_rn, which nvcc never fuses into FMAs. The update is then the same
// sequence of IEEE roundings as PyTorch's formula (maximize, weight decay, momentum, nesterov,
// p - lr * g) and as the CPU twin, which is compiled with -ffp-contract=off for the same
// reason (kernels/CMakeLists.txt), so CPU and GPU steps agree bit for bit (tests/cuda checks
// it); a fused `g + wd * p` would round once instead of twice.
// sgd_step_from passes `scalars` (device memory): each thread reads lr, first_step and skip
// from it when the kernel runs, so a graph replay sees this step's values; by value, it is
// nullptr and the launch's SgdArgs hold them. Same kernels, same bits (unverified on silicon).
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/versions.h"
#include "kernels/sgd.h"

namespace cudp::cuda {
namespace {

constexpr int kThreads = 256;

struct SgdArgs {
  float lr, momentum, one_minus_dampening, weight_decay;
  bool use_momentum, nesterov, maximize, first_step;
};

// One element: returns the new parameter and updates `buf` (ignored without momentum).
__device__ __forceinline__ float sgd_update(const SgdArgs& a, float p, float grad, float& buf) {
  float g = a.maximize ? -grad : grad;
  if (a.weight_decay != 0.0f) g = __fadd_rn(g, __fmul_rn(a.weight_decay, p));
  if (a.use_momentum) {
    buf = a.first_step ? g
                       : __fadd_rn(__fmul_rn(a.momentum, buf), __fmul_rn(a.one_minus_dampening, g));
    g = a.nesterov ? __fadd_rn(g, __fmul_rn(a.momentum, buf)) : buf;
  }
  return __fsub_rn(p, __fmul_rn(a.lr, g));
}

__device__ __forceinline__ void sgd_element(const SgdArgs& a, int64_t i, float* params,
                                            const float* grads, float* momentum_buffer) {
  float buf = 0.0f;
  if (a.use_momentum && !a.first_step) buf = momentum_buffer[i];
  params[i] = sgd_update(a, params[i], grads[i], buf);
  if (a.use_momentum) momentum_buffer[i] = buf;
}

// The step's values from device memory when given; false: skip the update (a non-finite loss).
__device__ __forceinline__ bool load_scalars(SgdArgs& a, const SgdStepScalars* scalars) {
  if (scalars == nullptr) return true;
  if (scalars->skip != 0) return false;
  a.lr = scalars->lr;
  a.first_step = scalars->first_step != 0;
  return true;
}

__global__ void sgd_kernel1(SgdArgs a, const SgdStepScalars* scalars, int64_t n, float* params,
                            const float* grads, float* momentum_buffer) {
  if (!load_scalars(a, scalars)) return;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += step)
    sgd_element(a, i, params, grads, momentum_buffer);
}

__global__ void sgd_kernel2(SgdArgs a, const SgdStepScalars* scalars, int64_t n, float* params,
                            const float* grads, float* momentum_buffer) {
  if (!load_scalars(a, scalars)) return;
  const int64_t tid = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t n4 = n / 4;
  auto* p4 = reinterpret_cast<float4*>(params);
  auto* g4 = reinterpret_cast<const float4*>(grads);
  auto* b4 = reinterpret_cast<float4*>(momentum_buffer);
  for (int64_t v = tid; v < n4; v += step) {
    float4 p = p4[v];
    const float4 g = g4[v];
    float4 b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (a.use_momentum && !a.first_step) b = b4[v];  // the first step never reads the buffer
    p.x = sgd_update(a, p.x, g.x, b.x);
    p.y = sgd_update(a, p.y, g.y, b.y);
    p.z = sgd_update(a, p.z, g.z, b.z);
    p.w = sgd_update(a, p.w, g.w, b.w);
    p4[v] = p;
    if (a.use_momentum) b4[v] = b;
  }
  const int64_t i = 4 * n4 + tid;  // the last n % 4 elements
  if (i < n) sgd_element(a, i, params, grads, momentum_buffer);
}

}  // namespace

int sgd_versions() { return 2; }
int sgd_default_version() { return 2; }

namespace {
void launch_sgd(int version, const Context& ctx, int64_t n, float* params, const float* grads,
                float* momentum_buffer, const SgdOptions& options, bool first_step,
                const SgdStepScalars* scalars) {
  if (version < 1 || version > sgd_versions())
    fail("sgd_step (cuda): version ", version, " does not exist (1..", sgd_versions(), ")");
  if (n < 0) fail("sgd_step (cuda): n must be >= 0, found ", n);
  const bool use_momentum = options.momentum != 0.0f;
  if (use_momentum && momentum_buffer == nullptr)
    fail("sgd_step (cuda): momentum = ", options.momentum, " needs a momentum buffer, got none");
  const cudaStream_t stream = cuda_detail::begin_op(ctx);
  if (n == 0) return;
  const SgdArgs a{options.lr,   options.momentum, 1.0f - options.dampening, options.weight_decay,
                  use_momentum, options.nesterov, options.maximize,         first_step};
  const bool aligned = cuda_detail::aligned16(params) && cuda_detail::aligned16(grads) &&
                       (!use_momentum || cuda_detail::aligned16(momentum_buffer));
  if (version == 2 && aligned) {
    sgd_kernel2<<<cuda_detail::grid_stride_blocks(ctx.device.index, n / 4 + 1, kThreads), kThreads,
                  0, stream>>>(a, scalars, n, params, grads, momentum_buffer);
    CUDP_LAUNCH_CHECK("sgd_kernel2", stream);
    return;
  }
  sgd_kernel1<<<cuda_detail::grid_stride_blocks(ctx.device.index, n, kThreads), kThreads, 0,
                stream>>>(a, scalars, n, params, grads, momentum_buffer);
  CUDP_LAUNCH_CHECK("sgd_kernel1", stream);
}
}  // namespace

void sgd_step_version(int version, const Context& ctx, int64_t n, float* params, const float* grads,
                      float* momentum_buffer, const SgdOptions& options, bool first_step) {
  launch_sgd(version, ctx, n, params, grads, momentum_buffer, options, first_step, nullptr);
}

void sgd_step_from_version(int version, const Context& ctx, int64_t n, float* params,
                           const float* grads, float* momentum_buffer, const SgdOptions& options,
                           const SgdStepScalars* scalars) {
  if (scalars == nullptr)
    fail("sgd_step_from (cuda): expected a device pointer to the step's scalars, found null");
  launch_sgd(version, ctx, n, params, grads, momentum_buffer, options, false, scalars);
}

void sgd_step_from(const Context& ctx, int64_t n, float* params, const float* grads,
                   float* momentum_buffer, const SgdOptions& options,
                   const SgdStepScalars* scalars) {
  sgd_step_from_version(sgd_default_version(), ctx, n, params, grads, momentum_buffer, options,
                        scalars);
}

void sgd_step(const Context& ctx, int64_t n, float* params, const float* grads,
              float* momentum_buffer, const SgdOptions& options, bool first_step) {
  sgd_step_version(sgd_default_version(), ctx, n, params, grads, momentum_buffer, options,
                   first_step);
}

}  // namespace cudp::cuda
