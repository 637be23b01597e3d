// Shape: the dimensions of a float32 NCHW array, outermost first.
//
// cudp has no Tensor class: layers hold raw views into their model's one flat
// parameter buffer (model/sequential.h), and everything that stands alone is
// a Buffer<float> (runtime/memory.h) with a Shape beside it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cudp {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "32x3x32x32"

}  // namespace cudp
