// See flags.h.
#include "apps/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "runtime/error.h"

namespace cudp {

void Flags::add(const std::string& name, const std::string& default_value,
                const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{default_value, default_value, help, false, false};
}

void Flags::add_bool(const std::string& name, const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{"false", "false", help, true, false};
}

void Flags::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      fail(command_, ": unexpected argument '", arg, "' (flags start with --; see --help)");
    std::string name = arg.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) fail(command_, ": unknown flag --", name, " (see --help)");
    Flag& f = it->second;
    if (f.given) fail("--", name, ": given twice");
    if (f.is_bool) {
      if (inline_value && value != "true" && value != "false")
        fail("--", name, ": expected true or false, found '", value, "'");
      f.value = inline_value ? value : "true";
    } else {
      if (!inline_value) {
        if (i + 1 >= args.size()) fail("--", name, ": expected a value, found the end of the line");
        value = args[++i];
      }
      f.value = value;
    }
    f.given = true;
  }
}

const Flags::Flag& Flags::flag(const std::string& name) const {
  auto it = flags_.find(name);
  CUDP_ASSERT(it != flags_.end());
  return it->second;
}

bool Flags::given(const std::string& name) const { return flag(name).given; }

void Flags::set_default(const std::string& name, const std::string& value) {
  auto it = flags_.find(name);
  CUDP_ASSERT(it != flags_.end());
  if (!it->second.given) it->second.value = value;
}
std::string Flags::str(const std::string& name) const { return flag(name).value; }
bool Flags::boolean(const std::string& name) const { return flag(name).value == "true"; }

namespace {

// Integers are decimal digits with an optional '-', nothing else. strtoll and
// strtoull alone would also take leading spaces and a '+', and strtoull takes a
// '-' after a space and negates: --seed " -1" was read as 2^64 - 1.
bool decimal_text(const std::string& text, bool allow_minus) {
  const size_t first = allow_minus && !text.empty() && text[0] == '-' ? 1 : 0;
  if (text.size() == first) return false;
  for (size_t i = first; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return true;
}

bool parse_integer(const std::string& text, int64_t& value) {
  if (!decimal_text(text, true)) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == text.c_str()) return false;
  value = v;
  return true;
}

}  // namespace

int64_t Flags::positive_int(const std::string& name) const {
  int64_t v = 0;
  if (!parse_integer(str(name), v) || v < 1)
    fail("--", name, ": expected a positive integer, found '", str(name), "'");
  return v;
}

int64_t Flags::non_negative_int(const std::string& name) const {
  int64_t v = 0;
  if (!parse_integer(str(name), v) || v < 0)
    fail("--", name, ": expected a non-negative integer, found '", str(name), "'");
  return v;
}

uint64_t Flags::seed(const std::string& name) const {
  const std::string& text = str(name);
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (!decimal_text(text, false) || errno != 0 || *end != '\0')
    fail("--", name, ": expected a non-negative integer seed, found '", text, "'");
  return v;
}

double Flags::number(const std::string& name) const {
  const std::string& text = str(name);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || errno != 0 || *end != '\0' || !std::isfinite(v))
    fail("--", name, ": expected a number, found '", text, "'");
  return v;
}

double Flags::non_negative_number(const std::string& name) const {
  const double v = number(name);
  if (v < 0) fail("--", name, ": expected a number >= 0, found '", str(name), "'");
  return v;
}

std::string Flags::help() const {
  std::ostringstream out;
  for (const auto& name : order_) {
    const Flag& f = flags_.at(name);
    std::string left = "  --" + name + (f.is_bool ? "" : " VALUE");
    if (left.size() < 26) left.resize(26, ' ');
    out << left << " " << f.help;
    // A help line that explains its own default (it depends on the data, the
    // file, the cores) is not given a second one.
    if (!f.is_bool && f.help.find("(default") == std::string::npos)
      out << " (default: " << (f.default_value.empty() ? "none" : f.default_value) << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace cudp
