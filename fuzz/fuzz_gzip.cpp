// libFuzzer: gunzip on arbitrary bytes, with a 1 MiB cap on the unpacked size
// (the cap itself is under test: a bomb must stop there). See CMakeLists.txt.
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cudp;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return fuzz::expect_ok_or_error([&] {
    const std::string out = gunzip(bytes, "fuzz-input", 1 << 20);
    if (out.size() > (1u << 20)) __builtin_trap();
  });
}
