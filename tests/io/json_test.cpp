// json::dump (io/json.h): what parse reads, dump writes back, compact, in
// member order, with every number's literal and every string re-escaped.
#include <gtest/gtest.h>

#include "io/json.h"

namespace cudp {
namespace {

TEST(JsonDump, WritesBackWhatParseReadWithoutWhitespace) {
  const std::string text =
      "{ \"b\": [1, -2.50, 3e+2, true, false, null],\n \"a\": {\"s\": \"q\\\"\\\\\\n\\u00b7\"},"
      " \"e\": [], \"o\": {} }";
  const std::string compact =
      "{\"b\":[1,-2.50,3e+2,true,false,null],\"a\":{\"s\":\"q\\\"\\\\\\u000a\u00b7\"},"
      "\"e\":[],\"o\":{}}";
  EXPECT_EQ(json::dump(json::parse(text, "test")), compact);
  EXPECT_EQ(json::dump(json::parse(compact, "test")), compact) << "a fixed point";
}

TEST(JsonDump, AppendsToWhatIsThere) {
  std::string out = "x=";
  json::dump(json::parse("[\"a\"]", "test"), out);
  EXPECT_EQ(out, "x=[\"a\"]");
}

}  // namespace
}  // namespace cudp
