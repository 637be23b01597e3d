// libFuzzer: the safetensors reader (and the strict JSON parser under it) on
// arbitrary bytes. See CMakeLists.txt.
#include "fuzz/fuzz_common.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cudp;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  return fuzz::expect_ok_or_error([&] {
    const SafetensorsFile file = parse_safetensors(bytes, "fuzz-input");
    for (const NamedTensor& t : file.tensors)
      if (static_cast<int64_t>(t.values.size()) != shape_numel(t.shape)) __builtin_trap();
  });
}
