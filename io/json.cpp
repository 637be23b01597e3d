// Strict JSON reader and quoter (see json.h).
//
// A recursive-descent parser over the bytes; `pos_` is always the index of the
// next unread byte, so every error can say exactly where reading stopped.
// \uXXXX escapes (surrogate pairs included) are decoded to UTF-8; other bytes
// >= 0x80 are copied as they are.
#include "io/json.h"

#include <cstdio>
#include <cstring>
#include <set>

#include "runtime/error.h"

namespace cudp::json {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const std::string& text, const std::string& where, std::size_t base)
      : text_(text), where_(where), base_(base) {}

  Value parse_document() {
    Value v = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) error("expected the end of the JSON text");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    std::string found = "the end of the text";
    if (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      char buf[16];
      std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7f ? "'%c'" : "byte 0x%02x", c);
      found = buf;
    }
    fail(where_, ": bad JSON at byte ", base_ + pos_, ": ", what, ", found ", found);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool peek(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void expect(char c) {
    if (!peek(c)) error(concat("expected '", c, "'"));
    ++pos_;
  }
  void expect_word(const char* word) {
    for (const char* p = word; *p; ++p) expect(*p);
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) error(concat("nesting deeper than ", kMaxDepth, " levels"));
    skip_space();
    Value v;
    v.offset = base_ + pos_;
    if (pos_ >= text_.size()) error("expected a value");
    const char c = text_[pos_];
    if (c == '{') {
      v.kind = Kind::Object;
      parse_object(v, depth);
    } else if (c == '[') {
      v.kind = Kind::Array;
      parse_array(v, depth);
    } else if (c == '"') {
      v.kind = Kind::String;
      v.text = parse_string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = Kind::Number;
      v.text = parse_number();
    } else if (c == 't' || c == 'f') {
      v.kind = Kind::Bool;
      v.boolean = c == 't';
      expect_word(v.boolean ? "true" : "false");
    } else if (c == 'n') {
      expect_word("null");
    } else {
      error("expected a value");
    }
    return v;
  }

  void parse_object(Value& v, int depth) {
    expect('{');
    skip_space();
    if (peek('}')) {
      ++pos_;
      return;
    }
    std::set<std::string> keys;
    for (;;) {
      skip_space();
      const std::size_t key_pos = pos_;
      if (!peek('"')) error("expected a string key");
      std::string key = parse_string();
      if (!keys.insert(key).second) {
        pos_ = key_pos;
        error(concat("duplicate key ", quote(key)));
      }
      skip_space();
      expect(':');
      Value member = parse_value(depth + 1);
      v.members.emplace_back(std::move(key), std::move(member));
      skip_space();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      expect('}');
      return;
    }
  }

  void parse_array(Value& v, int depth) {
    expect('[');
    skip_space();
    if (peek(']')) {
      ++pos_;
      return;
    }
    for (;;) {
      v.items.push_back(parse_value(depth + 1));
      skip_space();
      if (peek(',')) {
        ++pos_;
        continue;
      }
      expect(']');
      return;
    }
  }

  std::string parse_number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ == from) error("expected a digit");
    };
    if (peek('-')) ++pos_;
    if (peek('0')) {
      ++pos_;  // no leading zeros: "012" is not JSON
    } else {
      digits();
    }
    if (peek('.')) {
      ++pos_;
      digits();
    }
    if (peek('e') || peek('E')) {
      ++pos_;
      if (peek('+') || peek('-')) ++pos_;
      digits();
    }
    return text_.substr(start, pos_ - start);
  }

  unsigned hex4() {
    unsigned value = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      if (pos_ >= text_.size()) error("expected 4 hex digits after \\u");
      const char c = text_[pos_];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) error("expected 4 hex digits after \\u");
      value = value * 16 + static_cast<unsigned>(d);
    }
    return value;
  }

  // After "\u": one code point, from a surrogate pair where there is one.
  unsigned code_point() {
    const unsigned cp = hex4();
    if (cp >= 0xDC00 && cp < 0xE000) error("expected no lone low surrogate");
    if (cp < 0xD800 || cp >= 0xDC00) return cp;
    if (!peek('\\')) error("expected a low surrogate \\u escape after a high one");
    ++pos_;
    expect('u');
    const unsigned low = hex4();
    if (low < 0xDC00 || low >= 0xE000) error("expected a low surrogate \\u escape");
    return 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) error("expected '\"' to end the string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error("expected no control character inside a string");
      ++pos_;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (pos_ >= text_.size()) error("expected an escape after '\\'");
      const char e = text_[pos_++];
      static const char kFrom[] = "\"\\/bfnrt", kTo[] = "\"\\/\b\f\n\r\t";
      if (e == 'u') {
        append_utf8(out, code_point());
      } else if (const char* hit = e ? std::strchr(kFrom, e) : nullptr) {
        out += kTo[hit - kFrom];
      } else {
        --pos_;
        error("expected a valid escape character");
      }
    }
  }

  const std::string& text_;
  const std::string& where_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

}  // namespace

const char* kind_name(Kind kind) {
  static const char* const kNames[] = {"null",     "a boolean", "a number",
                                       "a string", "an array",  "an object"};
  return kNames[static_cast<int>(kind)];
}

bool Value::as_uint64(uint64_t* out) const {
  if (kind != Kind::Number || text.empty() || text.size() > 19) return false;
  uint64_t value = 0;  // 19 digits always fit in uint64
  for (char c : text) {
    if (c < '0' || c > '9') return false;  // '-', '.', 'e': not a non-negative integer
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value >= (uint64_t{1} << 63)) return false;
  *out = value;
  return true;
}

Value parse(const std::string& text, const std::string& where, std::size_t base_offset) {
  return Parser(text, where, base_offset).parse_document();
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void dump(const Value& value, std::string& out) {
  switch (value.kind) {
    case Kind::Null:
      out += "null";
      return;
    case Kind::Bool:
      out += value.boolean ? "true" : "false";
      return;
    case Kind::Number:
      out += value.text;
      return;  // the literal, as read
    case Kind::String:
      out += quote(value.text);
      return;
    case Kind::Array:
      out += '[';
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i) out += ',';
        dump(value.items[i], out);
      }
      out += ']';
      return;
    case Kind::Object:
      out += '{';
      for (std::size_t i = 0; i < value.members.size(); ++i) {
        if (i) out += ',';
        out += quote(value.members[i].first) + ':';
        dump(value.members[i].second, out);
      }
      out += '}';
      return;
  }
}

std::string dump(const Value& value) {
  std::string out;
  dump(value, out);
  return out;
}

}  // namespace cudp::json
