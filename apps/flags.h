// A small command-line flag parser with the manners of the tools people know.
//
// Flags are declared with a default and a help line; `--name value` and
// `--name=value` both work; booleans take no value (`--nesterov`); integers
// are decimal digits, with a '-' only where one may be refused (no space, no
// '+'); numbers are what strtod reads, finite. Every
// error is one line naming the flag, what was expected and what was found:
//   --lr: expected a number, found 'abc'
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cudp {

class Flags {
 public:
  explicit Flags(std::string command) : command_(std::move(command)) {}

  void add(const std::string& name, const std::string& default_value, const std::string& help);
  void add_bool(const std::string& name, const std::string& help);

  // Parses args (without the program and command names); throws cudp::Error.
  void parse(const std::vector<std::string>& args);

  bool given(const std::string& name) const;  // on the command line, not defaulted
  // Replaces a flag's default after parsing (a data set's own recipe); given() stays false.
  void set_default(const std::string& name, const std::string& value);
  std::string str(const std::string& name) const;
  bool boolean(const std::string& name) const;
  int64_t positive_int(const std::string& name) const;      // >= 1
  int64_t non_negative_int(const std::string& name) const;  // >= 0
  uint64_t seed(const std::string& name) const;
  double number(const std::string& name) const;  // finite
  double non_negative_number(const std::string& name) const;

  std::string help() const;  // every flag with its default

 private:
  struct Flag {
    std::string value, default_value, help;
    bool is_bool = false, given = false;
  };
  const Flag& flag(const std::string& name) const;

  std::string command_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
};

}  // namespace cudp
