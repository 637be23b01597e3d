// libFuzzer: the CIFAR-10 binary reader on arbitrary bytes. See CMakeLists.txt.
#include "data/cifar.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cudp;
  return fuzz::expect_ok_or_error([&] {
    const RawImages raw = read_cifar10(fuzz::as_file(data, size), 10);
    if (raw.pixels.size() != static_cast<size_t>(raw.size()) * 3072) __builtin_trap();
  });
}
