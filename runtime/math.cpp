#include "runtime/math.h"

#include "runtime/error.h"

namespace cudp {

const char* math_name(Math math) { return math == Math::tf32 ? "tf32" : "fp32"; }

Math parse_math(const std::string& name, const char* where) {
  if (name == "fp32") return Math::fp32;
  if (name == "tf32") return Math::tf32;
  fail(where, ": expected fp32 or tf32, found '", name, "'");
}

}  // namespace cudp
