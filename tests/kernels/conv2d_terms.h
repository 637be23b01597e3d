// The convolution's product terms, enumerated from kernels/conv2d.h's formula:
// the one definition the conv tests' double references and error bounds share.
// Padding reads zeros, so a term whose input pixel lies outside the image is
// skipped, never visited with a clamped index.
#pragma once

#include <cstdint>

#include "kernels/conv2d.h"

namespace cudp::test {

// Calls f(y_index, x_index, w_index) for every term y[y_index] += w[w_index] *
// x[x_index] that reads a pixel inside the image (NCHW x, KCRS w, NKPQ y).
template <class F>
void for_each_conv2d_term(const Conv2dShape& s, F f) {
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q)
          for (int64_t c = 0; c < s.C; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride - s.padding + r;
                const int64_t w = q * s.stride - s.padding + t;
                if (h < 0 || h >= s.H || w < 0 || w >= s.W) continue;  // zero padding
                const int64_t y_index = ((n * s.K + k) * P + p) * Q + q;
                const int64_t x_index = ((n * s.C + c) * s.H + h) * s.W + w;
                const int64_t w_index = ((k * s.C + c) * s.R + r) * s.S + t;
                f(y_index, x_index, w_index);
              }
}

}  // namespace cudp::test
