// The --devices grammar: good specs, and every bad one with its message.
#include "runtime/device_spec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "runtime/cuda_info.h"
#include "runtime/error.h"

namespace cudp {
namespace {

std::string error_of(const std::string& spec, int gpus) {
  try {
    parse_device_spec(spec, gpus);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceSpec, CpuSpecs) {
  EXPECT_EQ(device_list_str(parse_device_spec("cpu", 0)), "cpu:0");
  EXPECT_EQ(device_list_str(parse_device_spec("cpu:1", 0)), "cpu:0");
  EXPECT_EQ(device_list_str(parse_device_spec("cpu:4", 0)), "cpu:0,cpu:1,cpu:2,cpu:3");
}

TEST(DeviceSpec, CudaSpecsOnAMachineWithGpus) {
  EXPECT_EQ(device_list_str(parse_device_spec("cuda", 2)), "cuda:0");
  EXPECT_EQ(device_list_str(parse_device_spec("cuda:1", 2)), "cuda:1");
  EXPECT_EQ(device_list_str(parse_device_spec("cuda:0,1", 2)), "cuda:0,cuda:1");
  EXPECT_EQ(device_list_str(parse_device_spec("cuda:0,0,0,0", 1)),
            "cuda:0,cuda:0,cuda:0,cuda:0");
}

TEST(DeviceSpec, AutoIsEveryGpuElseTwoCpuDevices) {
  EXPECT_EQ(device_list_str(parse_device_spec("auto", 3)), "cuda:0,cuda:1,cuda:2");
  EXPECT_EQ(device_list_str(parse_device_spec("auto", 0)), "cpu:0,cpu:1");
}

TEST(DeviceSpec, BadSpecsSayWhatWasWrong) {
  EXPECT_NE(error_of("cuda", 0).find("no CUDA GPU"), std::string::npos);
  EXPECT_NE(error_of("cuda:0", 0).find("no CUDA GPU"), std::string::npos);
  EXPECT_NE(error_of("cuda:2", 2).find("GPU 2 does not exist"), std::string::npos);
  EXPECT_NE(error_of("cuda:0,x", 1).find("expected a GPU id, found 'x'"), std::string::npos);
  EXPECT_NE(error_of("cuda:", 1).find("expected a GPU id, found ''"), std::string::npos);
  EXPECT_NE(error_of("cpu:0", 0).find("from 1 to 1024"), std::string::npos);
  EXPECT_NE(error_of("cpu:-1", 0).find("found '-1'"), std::string::npos);
  EXPECT_NE(error_of("tpu:0", 0).find("unknown device spec"), std::string::npos);
  EXPECT_NE(error_of("", 0).find("unknown device spec"), std::string::npos);
}

// The library names its parameter and the spec, never a flag: apps/ prints --devices.
TEST(DeviceSpec, ErrorsAreParameterErrorsForDevices) {
  for (const auto& [spec, gpus] : std::vector<std::pair<std::string, int>>{
           {"cuda", 0}, {"cuda:2", 2}, {"cuda:x", 1}, {"cpu:0", 0}, {"tpu", 0}}) {
    try {
      parse_device_spec(spec, gpus);
      ADD_FAILURE() << spec << " was accepted";
    } catch (const ParameterError& e) {
      EXPECT_EQ(e.parameter(), "devices") << e.what();
      EXPECT_EQ(e.value(), spec) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("devices " + spec + ": ", 0), 0u) << e.what();
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
    }
  }
  EXPECT_NE(error_of("cpu:0", 0).find("devices cpu:0: cpu:N needs a device count"),
            std::string::npos);
  EXPECT_NE(error_of("", 0).find("devices '': unknown device spec"), std::string::npos);
}

TEST(DeviceSpec, RealMachineDetectionNeverThrows) {
  const int count = cuda_device_count();
  EXPECT_GE(count, 0);
  if (count == 0) {
    EXPECT_FALSE(cuda_unavailable_reason().empty());
    EXPECT_THROW(parse_device_spec("cuda"), Error);
  }
  if (!cuda_built()) {
    EXPECT_EQ(count, 0);
  }
}

}  // namespace
}  // namespace cudp
