// The numbered versions of the CPU elementwise ops (internal; contracts in kernels/*.h).
//
//   v1  <op>_v1   the plain twins (relu.cpp, bias.cpp, maxpool.cpp, sgd.cpp), one thread
//   v2  <op>_v2   ctx.threads threads over fixed shares; maxpool vectorizes the 2x2
//                 stride-2 window and SGD runs 8 lanes (elementwise_fast.cpp,
//                 maxpool_fast.cpp, sgd_fast.cpp)
// The public cpu:: ops run v2. cross_entropy, axpy and scale have v1 only and
// run on one thread whatever ctx.threads says: the loss is [batch, classes] (a
// few thousand exps), and axpy/scale serve the parallel layer's chunked
// reductions and loss weighting, small memory-bound calls.
//
// The decision a reader would get wrong: every v2 gives the SAME BITS as v1, and
// the same bits for every thread count. The shares never split a sum (bias_grad
// splits channels, each summed whole as in v1), and every other element is the
// same IEEE operations wherever it lands: ReLU and max-pool compare, the bias
// add is one add, and SGD rounds every multiply and add on its own
// (-ffp-contract=off on sgd.cpp and sgd_fast.cpp), in the vector body and in the
// scalar tail alike. One caveat, SGD only: where an input is NaN the result is
// NaN in both, but its sign bit may differ (IEEE 754 leaves open which NaN
// operand an add returns, and vector and scalar code may order the operands
// differently). v2's own bits, NaNs included, never depend on the thread count:
// shares start at multiples of 64 elements, so only the array's last n % 8
// elements ever take the scalar tail.
#pragma once

#include "kernels/bias.h"
#include "kernels/maxpool.h"
#include "kernels/relu.h"
#include "kernels/sgd.h"

namespace cudp::cpu {

void relu_forward_v1(const Context& ctx, int64_t n, const float* x, float* y);
void relu_backward_v1(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx);
void relu_forward_v2(const Context& ctx, int64_t n, const float* x, float* y);
void relu_backward_v2(const Context& ctx, int64_t n, const float* y, const float* dy, float* dx);

// v1's bias gradient for channels [k_begin, k_end) only.
void bias_grad_channels(int64_t N, int64_t K, int64_t inner, const float* dy, float* db,
                        int64_t k_begin, int64_t k_end);
void bias_add_v1(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b, float* y);
void bias_grad_v1(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
                  float* db);
void bias_add_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* b, float* y);
void bias_grad_v2(const Context& ctx, int64_t N, int64_t K, int64_t inner, const float* dy,
                  float* db);

// v1's bodies over planes [plane_begin, plane_end) of the whole tensors (plane = n*C + c).
void maxpool2d_forward_planes(const MaxPool2dShape& s, const float* x, float* y, int32_t* argmax,
                              int64_t plane_begin, int64_t plane_end);
void maxpool2d_backward_planes(const MaxPool2dShape& s, const float* dy, const int32_t* argmax,
                               float* dx, int64_t plane_begin, int64_t plane_end);
void maxpool2d_forward_v1(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                          int32_t* argmax);
void maxpool2d_backward_v1(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                           const int32_t* argmax, float* dx);
void maxpool2d_forward_v2(const Context& ctx, const MaxPool2dShape& s, const float* x, float* y,
                          int32_t* argmax);
void maxpool2d_backward_v2(const Context& ctx, const MaxPool2dShape& s, const float* dy,
                           const int32_t* argmax, float* dx);

void sgd_step_v1(const Context& ctx, int64_t n, float* params, const float* grads,
                 float* momentum_buffer, const SgdOptions& options, bool first_step);
void sgd_step_v2(const Context& ctx, int64_t n, float* params, const float* grads,
                 float* momentum_buffer, const SgdOptions& options, bool first_step);

}  // namespace cudp::cpu
