// The hot CUDA kernels keep everything in registers: no stack frame, no spills.
//
// Reads the reports that the cudp_resource_usage target (kernels/CMakeLists.txt) writes with
// `nvcc --resource-usage` into <build>/resource_usage/<file>.txt, and fails when a hot kernel
// (GEMM v4 and v6, implicit-GEMM conv v2 and v3, cross-entropy v2, SGD v2) has a stack frame or
// spill bytes, or is MISSING from its report (fewer instantiations than expected), so that a
// renamed kernel cannot make the test pass vacuously. Needs nvcc at build time, no GPU at run time.
// Kernel names are mangled: a hot kernel is matched by a substring of its mangled name.
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

struct KernelUsage {
  int registers = -1;
  int stack = -1, spill_stores = -1, spill_loads = -1;
};

// ptxas prints, per kernel:
//   ptxas info    : Function properties for <mangled>
//       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 128 registers, used 1 barriers, 33792 bytes smem
std::map<std::string, KernelUsage> parse_report(const std::string& text) {
  static const std::regex properties(R"(Function properties for (\S+))");
  static const std::regex frame(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers)");
  std::map<std::string, KernelUsage> kernels;
  std::istringstream in(text);
  std::string line, current;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, properties)) {
      current = m[1];
      kernels[current];
    } else if (!current.empty() && std::regex_search(line, m, frame)) {
      kernels[current].stack = std::stoi(m[1]);
      kernels[current].spill_stores = std::stoi(m[2]);
      kernels[current].spill_loads = std::stoi(m[3]);
    } else if (!current.empty() && std::regex_search(line, m, used)) {
      kernels[current].registers = std::stoi(m[1]);
    }
  }
  return kernels;
}

// Checks every kernel whose mangled name contains `name`: at least `expected` of them, each
// with a parsed frame line and zero stack and spills. Prints one line per instantiation.
::testing::AssertionResult hot_kernels_clean(const std::map<std::string, KernelUsage>& kernels,
                                             const std::string& name, int expected) {
  int found = 0;
  std::ostringstream problems;
  for (const auto& [mangled, u] : kernels) {
    if (mangled.find(name) == std::string::npos) continue;
    ++found;
    std::cout << "  " << name << " #" << found << ": " << u.registers << " registers, " << u.stack
              << " bytes stack, " << u.spill_stores << "/" << u.spill_loads
              << " bytes spill stores/loads  (" << mangled << ")\n";
    if (u.stack != 0 || u.spill_stores != 0 || u.spill_loads != 0)
      problems << "\n  " << mangled << ": stack " << u.stack << ", spill stores " << u.spill_stores
               << ", spill loads " << u.spill_loads << " (expected 0, 0, 0; -1 = line not found)";
  }
  if (found < expected)
    return ::testing::AssertionFailure()
           << "expected at least " << expected << " instantiations of " << name
           << " in the report, found " << found << " (renamed kernel or empty report?)";
  if (!problems.str().empty())
    return ::testing::AssertionFailure() << name << " uses local memory:" << problems.str();
  return ::testing::AssertionSuccess();
}

std::string read_report(const std::string& file) {
  const std::string path = std::string(CUDP_BINARY_DIR) + "/resource_usage/" + file + ".txt";
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct HotKernel {
  const char* file;  // kernels/cuda/<file>.cu
  const char* name;  // substring of the mangled name
  int instantiations;
};

// GEMM v4/v5: 3 layouts x float4 or scalar loads for A and B, and v5's split-K reduction. GEMM
// v6: 16-byte or 4-byte copies of each x-contiguous operand (NN 2, NT 1, TN 4). Conv v2:
// forward, backward-data (unit and larger stride), backward-weight; conv v3 the same four.
// Cross-entropy v2 and SGD v2:
// scalar and float4.
const HotKernel kHotKernels[] = {
    {"gemm", "gemm_kernel4", 12},
    {"gemm", "gemm_split_reduce_kernel", 1},
    {"gemm_v6", "gemm_kernel6", 7},
    {"gemm_tf32", "gemm_tf32_kernel1", 12},
    {"gemm_tf32_wgmma", "gemm_tf32_kernel2", 1},
    {"conv2d_tf32", "conv2d_tf32_kernel1", 4},
    {"conv2d", "conv2d_igemm_kernel2", 4},
    {"conv2d", "conv2d_split_reduce_kernel", 1},
    {"conv2d_v3", "conv2d_igemm_kernel3", 4},
    {"cross_entropy", "cross_entropy_kernel2", 2},
    {"cross_entropy", "cross_entropy_count_kernel", 1},
    {"cross_entropy", "cross_entropy_sum_kernel", 1},
    {"sgd", "sgd_kernel2", 1},
    {"sgd", "sgd_kernel1", 1},
};

TEST(CudaResourceUsage, HotKernelsHaveNoStackFrameOrSpills) {
  for (const HotKernel& hot : kHotKernels) {
    SCOPED_TRACE(std::string("kernels/cuda/") + hot.file + ".cu");
    const std::string text = read_report(hot.file);
    ASSERT_FALSE(text.empty()) << "no report " << CUDP_BINARY_DIR << "/resource_usage/" << hot.file
                               << ".txt: build the cudp_resource_usage target";
    EXPECT_TRUE(hot_kernels_clean(parse_report(text), hot.name, hot.instantiations));
  }
}

// The parser itself: a spilling kernel and a missing kernel must both fail.
TEST(CudaResourceUsage, ParserCatchesSpillsAndMissingKernels) {
  const std::string report =
      "ptxas info    : Compiling entry function '_Z12gemm_kernel4v' for 'sm_90'\n"
      "ptxas info    : Function properties for _Z12gemm_kernel4v\n"
      "    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads\n"
      "ptxas info    : Used 255 registers, used 1 barriers\n"
      "ptxas info    : Function properties for _Z10sgd_kernel2v\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 40 registers, used 0 barriers\n";
  const auto kernels = parse_report(report);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels.at("_Z12gemm_kernel4v").registers, 255);
  EXPECT_EQ(kernels.at("_Z12gemm_kernel4v").spill_stores, 4);
  EXPECT_FALSE(hot_kernels_clean(kernels, "gemm_kernel4", 1));
  EXPECT_TRUE(hot_kernels_clean(kernels, "sgd_kernel2", 1));
  EXPECT_FALSE(hot_kernels_clean(kernels, "sgd_kernel2", 2));
  EXPECT_FALSE(hot_kernels_clean(kernels, "conv2d_igemm_kernel2", 1));
}

}  // namespace
