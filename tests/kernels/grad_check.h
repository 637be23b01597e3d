// Finite differences in double, for the gradient checks of tests/kernels.
//
// Each backward is checked against the central difference of a scalar
// L(x) = sum(dy * forward(x)) written in double in the test itself, so the
// check does not trust the kernel's own forward. With eps = 1e-6 and L of
// order 1..100, the difference is accurate to about 1e-8: the tolerance of a
// check is then the float kernel's own rounding.
#pragma once

#include <cstddef>
#include <vector>

namespace cudp::test {

// dL/dx_i for every i, by (L(x + eps e_i) - L(x - eps e_i)) / (2 eps).
template <class Loss>
std::vector<double> numeric_gradient(Loss loss, std::vector<double> x, double eps = 1e-6) {
  std::vector<double> grad(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double plus = loss(x);
    x[i] = saved - eps;
    const double minus = loss(x);
    x[i] = saved;
    grad[i] = (plus - minus) / (2.0 * eps);
  }
  return grad;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += a[i] * b.at(i);
  return sum;
}

}  // namespace cudp::test
