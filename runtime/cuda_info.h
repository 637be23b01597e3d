// Run-time CUDA detection.
//
// Whether a GPU is usable is a fact found at run time, not at build time: a
// CPU-only build reports 0, and so does any error of cudaGetDeviceCount (no
// driver, no device, a driver older than the runtime). On failure that call
// leaves its output untouched, so the count is set to 0 before asking.
#pragma once

#include <string>

namespace cudp {

bool cuda_built();            // compiled with the CUDA backend
int cuda_device_count();      // 0 when no GPU can be used, never throws
std::string cuda_unavailable_reason();  // why the count is 0 ("" when it is not)

// The one error for a CUDA device in a build without the CUDA backend; `what`
// names the operation (an op, a stream, a copy).
[[noreturn]] void fail_no_cuda_backend(const char* what);

}  // namespace cudp
