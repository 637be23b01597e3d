// What the CPU and CUDA benchmarks share: input values, work counts, naive
// double-precision references, and the tolerance check that gates timing.
//
// Inputs come from a counter-based hash, bench_value(seed, i), uniform in
// (-1, 1) and never exactly zero (timing on zeros hides unwritten outputs and
// can run faster than real data). Because element i is a pure function of
// (seed, i), the CUDA benchmark fills gigabytes on the GPU and the host still
// knows every input: a sampled output element is checked on the CPU in double
// without copying the inputs back.
//
// The references take accessors (index -> double), so the same loop checks a
// host array or the hash directly. Each returns the sum and the sum of the
// absolute values of its terms: a float sum of T terms is off by about
// u * sqrt(T) * sum|terms| (u = 2^-24), so the check allows 8 times that
// (a wrong index costs ~sqrt(T)/T of sum|terms|, far above it).
//
// Work counts (one formula, shared with bench/baselines/torch_gpu_baselines.py):
//   GEMM      2*M*N*K FLOPs            conv2d (each pass) 2*N*K*P*Q*C*R*S FLOPs
//   bytes     the fewest a kernel must move: every input read once, every
//             output written once (see each benchmark).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/gemm.h"
#include "kernels/tf32.h"
#include "runtime/math.h"

#ifdef __CUDACC__
#define CUDP_BENCH_HD __host__ __device__
#else
#define CUDP_BENCH_HD
#endif

namespace cudp::bench {

// The kernel benchmarks' own flag, --version=V (0, the default: every version):
// returns V and leaves every other argument in `rest` for Google Benchmark.
inline int take_version_flag(int argc, char** argv, std::vector<char*>& rest) {
  int only_version = 0;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--version=", 10) == 0)
      only_version = std::atoi(argv[i] + 10);
    else
      rest.push_back(argv[i]);
  }
  return only_version;
}

// 24 random bits: splitmix64's finalizer over (seed, i), top bits.
CUDP_BENCH_HD inline uint32_t bench_bits(uint32_t seed, uint64_t i) {
  uint64_t z = i + 0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(seed) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z >> 40);
}

// The bits as an odd multiple of 2^-23 in (-1, 1), so 0 never occurs. The odd
// integer is below 2^24, so its conversion and the power-of-two scaling are
// exact: host and device agree bit for bit.
CUDP_BENCH_HD inline float bench_value(uint32_t seed, uint64_t i) {
  const int32_t odd = static_cast<int32_t>(bench_bits(seed, i) | 1u) - (1 << 23);
  return static_cast<float>(odd) * (1.0f / 8388608.0f);
}

// A class id in [0, classes), integer arithmetic only.
CUDP_BENCH_HD inline int32_t bench_label(uint32_t seed, uint64_t i, int64_t classes) {
  return static_cast<int32_t>((static_cast<uint64_t>(bench_bits(seed, i)) * classes) >> 24);
}

inline double gemm_flops(int64_t M, int64_t N, int64_t K) { return 2.0 * M * N * K; }
inline double conv2d_flops(const Conv2dShape& s) {
  return 2.0 * s.N * s.K * s.P() * s.Q() * s.C * s.R * s.S;
}

struct RefValue {
  double sum = 0, sum_abs = 0;
  int64_t terms = 0;
  void add(double a, double b) {
    sum += a * b;
    sum_abs += std::fabs(a * b);
    ++terms;
  }
};

// C(i,j) of op(A) * op(B) (alpha = 1, beta = 0); A(idx), B(idx) read the raw arrays.
template <class FA, class FB>
RefValue gemm_ref(GemmLayout layout, int64_t M, int64_t N, int64_t K, FA A, FB B, int64_t i,
                  int64_t j) {
  RefValue v;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t a = layout == GemmLayout::TN ? k * M + i : i * K + k;  // TN: A is [K,M]
    const int64_t b = layout == GemmLayout::NT ? j * K + k : k * N + j;  // NT: B is [N,K]
    v.add(A(a), B(b));
  }
  return v;
}

// y[n,k,p,q] = sum_{c,r,s} w[k,c,r,s] x[n,c,h,w], h = p*stride - padding + r.
template <class FX, class FW>
RefValue conv2d_forward_ref(const Conv2dShape& s, FX x, FW w, int64_t n, int64_t k, int64_t p,
                            int64_t q) {
  RefValue v;
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t h = p * s.stride - s.padding + r, wi = q * s.stride - s.padding + t;
        if (h < 0 || h >= s.H || wi < 0 || wi >= s.W) continue;
        v.add(w(((k * s.C + c) * s.R + r) * s.S + t), x(((n * s.C + c) * s.H + h) * s.W + wi));
      }
  return v;
}

// dx[n,c,h,w] = sum over (k,r,s) whose window covers (h,w): dy[n,k,p,q] w[k,c,r,s],
// with p = (h + padding - r) / stride when that division is exact and in range.
template <class FDY, class FW>
RefValue conv2d_backward_data_ref(const Conv2dShape& s, FDY dy, FW w, int64_t n, int64_t c,
                                  int64_t h, int64_t wi) {
  RefValue v;
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t k = 0; k < s.K; ++k)
    for (int64_t r = 0; r < s.R; ++r)
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t ph = h + s.padding - r, qw = wi + s.padding - t;
        if (ph < 0 || qw < 0 || ph % s.stride || qw % s.stride) continue;
        const int64_t p = ph / s.stride, q = qw / s.stride;
        if (p >= P || q >= Q) continue;
        v.add(dy(((n * s.K + k) * P + p) * Q + q), w(((k * s.C + c) * s.R + r) * s.S + t));
      }
  return v;
}

// dw[k,c,r,s] = sum_{n,p,q} dy[n,k,p,q] x[n,c,h,w].
template <class FX, class FDY>
RefValue conv2d_backward_weight_ref(const Conv2dShape& s, FX x, FDY dy, int64_t k, int64_t c,
                                    int64_t r, int64_t t) {
  RefValue v;
  const int64_t P = s.P(), Q = s.Q();
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t h = p * s.stride - s.padding + r, wi = q * s.stride - s.padding + t;
        if (h < 0 || h >= s.H || wi < 0 || wi >= s.W) continue;
        v.add(dy(((n * s.K + k) * P + p) * Q + q), x(((n * s.C + c) * s.H + h) * s.W + wi));
      }
  return v;
}

// An operand value as the kernel of `math` multiplies it: rounded to TF32 under tf32.
inline double operand(Math math, float v) {
  return static_cast<double>(math == Math::tf32 ? round_tf32(v) : v);
}

// Collects mismatches of computed values against double references; message()
// names the first few and the largest error, "" when everything matched.
class Checker {
 public:
  explicit Checker(std::string what) : what_(std::move(what)) {}

  // A sum of ref.terms products: allowed 8 * 2^-24 * sqrt(terms) * sum|terms| + 1e-6.
  // tf32: kernels/tf32.h's bound on a tensor-core sum (the reference summing the rounded
  // operands in double); fp32: as below.
  void sum(Math math, int64_t index, float got, const RefValue& ref) {
    if (math == Math::tf32)
      close(index, got, ref.sum, tf32_sum_bound(ref.terms, ref.sum_abs) + 1e-6);
    else
      sum(index, got, ref);
  }
  void sum(int64_t index, float got, const RefValue& ref) {
    const double tol =
        8.0 * std::ldexp(1.0, -24) * std::sqrt(static_cast<double>(ref.terms) + 1) * ref.sum_abs +
        1e-6;
    close(index, got, ref.sum, tol);
  }
  // An elementwise result: |got - ref| <= atol + rtol * |ref|.
  void value(int64_t index, float got, double ref, double atol = 1e-6, double rtol = 1e-5) {
    close(index, got, ref, atol + rtol * std::fabs(ref));
  }
  void close(int64_t index, float got, double ref, double tol) {
    ++checked_;
    const double err = std::fabs(static_cast<double>(got) - ref);
    if (!(err <= tol)) {  // NaN fails
      if (bad_ < 3) first_ << " [" << index << "] got " << got << " expected " << ref << ";";
      ++bad_;
      if (!(err <= worst_)) worst_ = err;
    }
  }
  bool ok() const { return bad_ == 0 && checked_ > 0; }
  std::string message() const {
    if (checked_ == 0) return what_ + ": nothing was checked";
    if (bad_ == 0) return "";
    std::ostringstream out;
    out << what_ << ": " << bad_ << " of " << checked_ << " elements differ from the reference;"
        << first_.str() << " largest error " << worst_;
    return out.str();
  }

 private:
  std::string what_;
  std::ostringstream first_;
  int64_t checked_ = 0, bad_ = 0;
  double worst_ = 0;
};

}  // namespace cudp::bench
