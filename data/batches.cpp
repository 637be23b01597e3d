// Epoch orders and batch gathering; see dataset.h.
//
// The shuffle is a Fisher-Yates over our own Rng seeded from (seed, epoch):
// the same on every platform, and epoch k's order does not depend on how many
// samples earlier epochs drew.
#include <algorithm>
#include <cstring>

#include "data/dataset.h"
#include "runtime/error.h"
#include "runtime/rng.h"

namespace cudp {

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  Rng rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  return order;
}

void gather_batch(const Dataset& data, const std::vector<int64_t>& order, int64_t first,
                  int64_t count, float* x, int32_t* y) {
  CUDP_ASSERT(first >= 0 && first + count <= static_cast<int64_t>(order.size()));
  const int64_t numel = data.sample_numel();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t s = order[first + i];
    std::memcpy(x + i * numel, data.images.data() + s * numel, numel * sizeof(float));
    y[i] = data.labels[s];
  }
}

}  // namespace cudp
