// Layer's non-virtual helpers (see layer.h).
#include "model/layer.h"

namespace cudp {

int64_t Layer::param_count() const {
  int64_t count = 0;
  for (const auto& p : params()) count += shape_numel(p.shape);
  return count;
}

}  // namespace cudp
