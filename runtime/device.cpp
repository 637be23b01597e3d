// Device names; see device.h.
#include "runtime/device.h"

namespace cudp {

std::string Device::str() const {
  return std::string(is_cuda() ? "cuda:" : "cpu:") + std::to_string(index);
}

}  // namespace cudp
