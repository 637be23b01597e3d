// conv2d v3's three passes (kernels/cuda/conv2d_v3.cu), called by conv2d.cu's dispatcher
// after make_dims has validated the shape. Each checks v3's own 32-bit extents (a clear error
// naming v3) before touching the GPU, then queues its kernels on the context's stream. Only
// kernels/cuda/*.cu include this header.
#pragma once

#include <cuda_runtime.h>

#include "kernels/cuda/conv2d_igemm.cuh"
#include "runtime/context.h"

namespace cudp::cuda::conv2d_v3 {

void forward(const Context& ctx, const conv2d_igemm::ConvDims& d, const float* x, const float* w,
             float* y);
void backward_data(const Context& ctx, const conv2d_igemm::ConvDims& d, const float* dy,
                   const float* w, float* dx);
void backward_weight(const Context& ctx, const conv2d_igemm::ConvDims& d, const float* x,
                     const float* dy, float* dw);

}  // namespace cudp::cuda::conv2d_v3
