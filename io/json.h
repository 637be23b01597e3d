// A small strict JSON reader, a writer and a string quoter, for safetensors
// headers and cudp's own traces.
//
// Strict means RFC 8259 and nothing more: no comments, no trailing commas, no
// NaN, no single quotes, no control characters inside strings, nothing after
// the top value but whitespace; an object with a repeated key is refused
// (safetensors names must be unique, and "last one wins" would hide a bad
// file). Nesting is limited to 64 levels so a hostile file cannot overflow the
// stack. Numbers keep their literal text; as_uint64() reads the ones that are
// non-negative integers. Errors are cudp::Error naming `where` and the byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cudp::json {

enum class Kind { Null, Bool, Number, String, Array, Object };
const char* kind_name(Kind kind);  // "a string", "an object", ...

struct Value {
  Kind kind = Kind::Null;
  bool boolean = false;
  std::string text;                                    // String (decoded), Number (literal)
  std::vector<Value> items;                            // Array
  std::vector<std::pair<std::string, Value>> members;  // Object, in file order
  std::size_t offset = 0;                              // where the value starts

  // True (and *out set) for a Number that is an integer in [0, 2^63).
  bool as_uint64(uint64_t* out) const;
};

// Parses `text`; error offsets are reported as base_offset + index in text.
Value parse(const std::string& text, const std::string& where, std::size_t base_offset = 0);

// `value` as compact JSON, members in their order, numbers as their literal
// text: dump(parse(t)) is t without its whitespace.
std::string dump(const Value& value);
void dump(const Value& value, std::string& out);  // appends

// `s` as a JSON string literal, quotes included ("\"", "\\" and controls escaped).
std::string quote(const std::string& s);

}  // namespace cudp::json
