// A one-file GEMM lab: a reference, every CPU version, validation, then timing,
// read top to bottom like CUTLASS's 00_basic_gemm or llm.c's dev/cuda.
//
//   build/examples/gemm_lab [M N K] [--reps R] [--threads T]
//
// C[M,N] = alpha * A[M,K] * B[K,N] + beta * C (row-major, layout NN), on random
// data in [-1, 1). Each version is checked against a double-precision
// reference with the bound of a K-term float dot product: |error| <=
// gamma_K * sum_k |a_ik b_kj| (+ the same for beta*C), gamma_K = K u / (1 - K u),
// u = 2^-24. A version outside its bound fails the lab (exit 1) and is not timed.
// Then each version runs `reps` times and reports its best GFLOP/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu/versions.h"
#include "runtime/context.h"
#include "runtime/error.h"
#include "runtime/rng.h"

namespace {

using namespace cudp;

// 1. The reference: the textbook triple loop, in double, and the bound of each
// element (sum of |terms|), from which the tolerance is derived.
void reference(int64_t M, int64_t N, int64_t K, float alpha, const std::vector<float>& A,
               const std::vector<float>& B, float beta, const std::vector<float>& C,
               std::vector<double>& out, std::vector<double>& magnitude) {
  out.assign(static_cast<std::size_t>(M * N), 0.0);
  magnitude.assign(out.size(), 0.0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double t = static_cast<double>(A[i * K + k]) * B[k * N + j];
        sum += t;
        mag += std::fabs(t);
      }
      const double c = static_cast<double>(beta) * C[i * N + j];
      out[i * N + j] = alpha * sum + c;
      magnitude[i * N + j] = std::fabs(alpha) * mag + std::fabs(c);
    }
}

// 2. Validation: every element within gamma_(K+2) * magnitude (K products and
// adds, alpha's multiply, beta's add), plus one float ulp of the result.
bool validate(const char* name, const std::vector<float>& got, const std::vector<double>& want,
              const std::vector<double>& magnitude, int64_t K) {
  const double u = std::ldexp(1.0, -24);
  const double n = static_cast<double>(K + 2);
  const double gamma = n * u / (1 - n * u);
  double worst = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double bound = gamma * magnitude[i] + u * std::fabs(want[i]);
    const double err = std::fabs(got[i] - want[i]);
    if (!(err <= bound)) {
      std::printf("%-4s FAILED at element %zu: %.9g, expected %.9g (bound %.3g)\n", name, i,
                  static_cast<double>(got[i]), want[i], bound);
      return false;
    }
    if (bound > 0 && err / bound > worst) worst = err / bound, at = i;
  }
  std::printf("%-4s ok: worst error %.2f of its bound (element %zu)\n", name, worst, at);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t M = 512, N = 512, K = 512;
  int reps = 5, threads = 1;
  std::vector<int64_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--reps" || arg == "--threads") && i + 1 < argc) {
      (arg == "--reps" ? reps : threads) = std::atoi(argv[++i]);
    } else if (!arg.empty() && arg[0] != '-') {
      sizes.push_back(std::atoll(arg.c_str()));
    } else {
      std::fprintf(stderr, "gemm_lab: unknown argument '%s' (expected M N K, --reps, --threads)\n",
                   arg.c_str());
      return 2;
    }
  }
  if (!sizes.empty() && sizes.size() != 3) {
    std::fprintf(stderr, "gemm_lab: expected three sizes M N K, found %zu\n", sizes.size());
    return 2;
  }
  if (sizes.size() == 3) M = sizes[0], N = sizes[1], K = sizes[2];
  if (M < 1 || N < 1 || K < 1 || reps < 1 || threads < 1) {
    std::fprintf(stderr, "gemm_lab: sizes, --reps and --threads must be positive\n");
    return 2;
  }

  // 3. Random operands (never zeros: a kernel that skips work would pass on zeros).
  Rng rng(42);
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = rng.uniform(-1.0f, 1.0f);
    return v;
  };
  const std::vector<float> A = random(M * K), B = random(K * N), C0 = random(M * N);
  const float alpha = 1.25f, beta = 0.5f;
  std::vector<double> want, magnitude;
  reference(M, N, K, alpha, A, B, beta, C0, want, magnitude);
  std::printf("gemm %lldx%lldx%lld (M N K), alpha %.2f beta %.2f, %d thread(s)\n",
              static_cast<long long>(M), static_cast<long long>(N), static_cast<long long>(K),
              alpha, beta, threads);

  // 4. Every version: validate, then time.
  const Context ctx = cpu_context(threads);
  bool all_ok = true;
  for (int v = 1; v <= cpu::gemm_versions(); ++v) {
    const std::string name = "v" + std::to_string(v);
    if (!cpu::gemm_version_available(v)) {
      std::printf("%-4s skipped: this CPU cannot run it\n", name.c_str());
      continue;
    }
    std::vector<float> C = C0;
    cpu::gemm_version(v, ctx, GemmLayout::NN, M, N, K, alpha, A.data(), B.data(), beta, C.data());
    if (!validate(name.c_str(), C, want, magnitude, K)) {
      all_ok = false;
      continue;
    }
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
      C = C0;
      const auto t0 = std::chrono::steady_clock::now();
      cpu::gemm_version(v, ctx, GemmLayout::NN, M, N, K, alpha, A.data(), B.data(), beta,
                        C.data());
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                                .count());
    }
    std::printf("%-4s %8.2f GFLOP/s (best of %d)%s\n", name.c_str(),
                2.0 * M * N * K / best / 1e9, reps,
                v == cpu::gemm_default_version() ? "  <- default" : "");
  }
  return all_ok ? 0 : 1;
}
