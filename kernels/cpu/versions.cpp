// What the CPU version dispatchers share (kernels/cpu/versions.h); each op's
// dispatcher lives in its own file, next to its versions, as in kernels/cuda/.
#include "kernels/cpu/versions.h"

#include "runtime/error.h"

namespace cudp::cpu {

void check_version(const char* op, int version, int versions) {
  if (version < 1 || version > versions)
    fail(op, " (cpu): version ", version, " does not exist (1..", versions, ")");
}

}  // namespace cudp::cpu
