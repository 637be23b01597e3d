// libFuzzer: the command-line flag parser (apps/flags.h) and `cudp train`'s
// checks on top of it (apps/train_config.h), on arbitrary command lines. An
// input is the arguments after `cudp train`, separated by '\0' bytes, as a
// shell would hand them over (so no argument contains a '\0'). See fuzz/README.md.
//
// Beyond "no crash": every value an accessor accepts is what its text says
// (a positive integer is >= 1, a seed is the decimal number written, a number
// is finite), and an accepted TrainConfig is one a run can use (threads >= 1,
// chunk bytes in [4, 4G], the output device one of the devices).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "apps/flags.h"
#include "apps/train_config.h"
#include "fuzz/fuzz_common.h"

namespace {

using cudp::fuzz::expect_ok_or_error;

std::vector<std::string> split_args(const uint8_t* data, size_t size) {
  std::vector<std::string> args;
  if (size == 0) return args;
  std::string current;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  args.push_back(current);
  return args;
}

// The decimal number `text` writes, when it is only digits and fits in 64 bits.
bool decimal_value(const std::string& text, uint64_t& value) {
  if (text.empty()) return false;
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  return true;
}

// `text` as std::to_string writes the integer it spells: "-007" -> "-7", "-0" -> "0";
// "" when it is not an optional '-' and decimal digits.
std::string canonical_integer(const std::string& text) {
  const bool minus = !text.empty() && text[0] == '-';
  std::string digits = text.substr(minus ? 1 : 0);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return "";
  digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
  return (minus && digits != "0" ? "-" : "") + digits;
}

// What a --chunk-bytes text means, computed wide so nothing wraps: its digits
// times its unit (only called on texts parse_byte_size accepted: <= 12 digits).
unsigned __int128 byte_size_meaning(const std::string& text) {
  size_t digits = 0;
  unsigned __int128 count = 0;
  for (; digits < text.size() && text[digits] >= '0' && text[digits] <= '9'; ++digits)
    count = count * 10 + static_cast<unsigned>(text[digits] - '0');
  const std::string unit = text.substr(digits);
  const int shift = unit == "K" || unit == "KiB"   ? 10
                    : unit == "M" || unit == "MiB" ? 20
                    : unit == "G" || unit == "GiB" ? 30
                                                   : 0;
  return count << shift;
}

// A boolean takes no value: alone on a line it parses.
bool is_boolean(const std::string& name) {
  cudp::Flags f = cudp::train_flags();
  try {
    f.parse({"--" + name});
  } catch (const cudp::Error&) {
    return false;
  }
  return true;
}

// Every accessor on every flag the line names: each accepts or refuses its text.
void check_accessors(const cudp::Flags& f, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const std::string text = f.str(name);
    CUDP_FUZZ_EXPECT(f.given(name), "--", name, " parsed but not given");
    expect_ok_or_error([&] {
      const int64_t v = f.positive_int(name);
      CUDP_FUZZ_EXPECT(v >= 1 && std::to_string(v) == canonical_integer(text), "--", name, " '",
                       text, "' read as the positive integer ", v);
    });
    expect_ok_or_error([&] {
      const int64_t v = f.non_negative_int(name);
      CUDP_FUZZ_EXPECT(v >= 0 && std::to_string(v) == canonical_integer(text), "--", name, " '",
                       text, "' read as the non-negative integer ", v);
    });
    expect_ok_or_error([&] {
      const uint64_t v = f.seed(name);
      uint64_t written = 0;
      CUDP_FUZZ_EXPECT(decimal_value(text, written) && written == v, "--", name, " '", text,
                       "' read as the seed ", v);
    });
    expect_ok_or_error([&] {
      const double v = f.number(name);
      CUDP_FUZZ_EXPECT(std::isfinite(v), "--", name, " '", text, "' read as ", v);
    });
    expect_ok_or_error([&] {
      const double v = f.non_negative_number(name);
      CUDP_FUZZ_EXPECT(v >= 0, "--", name, " '", text, "' read as non-negative ", v);
    });
    // The value parsers of train_config.h, on every text (not only their flag's).
    expect_ok_or_error([&] {
      const std::size_t bytes = cudp::parse_byte_size(text);
      CUDP_FUZZ_EXPECT(
          bytes >= 4 && bytes <= (std::size_t{1} << 32) && bytes == byte_size_meaning(text), "'",
          text, "' read as ", bytes, " bytes");
    });
    expect_ok_or_error([&] {
      const cudp::Shape shape = cudp::parse_input_shape(text);
      CUDP_FUZZ_EXPECT(shape.size() == 3 && shape[0] >= 1 && shape[1] >= 1 && shape[2] >= 1, "'",
                       text, "' read as the shape ", cudp::shape_str(shape));
    });
    expect_ok_or_error([&] {
      const std::vector<int64_t> epochs = cudp::parse_milestones(text);
      for (size_t i = 0; i < epochs.size(); ++i)
        CUDP_FUZZ_EXPECT(epochs[i] >= 1 && (i == 0 || epochs[i - 1] < epochs[i]), "'", text,
                         "' read as milestones that are not increasing positive epochs");
    });
    const bool b = f.boolean(name);
    CUDP_FUZZ_EXPECT(b == (text == "true"), "--", name, " '", text, "' read as ", b);
  }
}

void check_flags(const std::vector<std::string>& args) {
  cudp::Flags f = cudp::train_flags();
  f.parse(args);
  // The flags on the line, walked as parse() walks it: a flag without '=' that
  // is not a boolean takes the next argument as its value.
  std::vector<std::string> names;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool inline_value = args[i].find('=') != std::string::npos;
    names.push_back(args[i].substr(2, args[i].find('=') - 2));
    if (!inline_value && !is_boolean(names.back())) ++i;
  }
  check_accessors(f, names);
  CUDP_FUZZ_EXPECT(!f.help().empty(), "no help");
}

void check_train_config(const std::vector<std::string>& args) {
  std::string help;
  const cudp::TrainConfig c = cudp::parse_train_config(args, &help);
  if (c.help) {
    CUDP_FUZZ_EXPECT(!help.empty(), "--help gave no help");
    return;
  }
  CUDP_FUZZ_EXPECT(c.batch >= 1, "batch ", c.batch);
  CUDP_FUZZ_EXPECT(c.steps >= 1 || c.epochs >= 1, "steps ", c.steps, ", epochs ", c.epochs);
  CUDP_FUZZ_EXPECT(!c.devices.empty(), "no device");
  CUDP_FUZZ_EXPECT(c.threads >= 1, "threads ", c.threads);
  CUDP_FUZZ_EXPECT(c.chunk_bytes >= 4 && c.chunk_bytes <= (std::size_t{1} << 32), "chunk bytes ",
                   c.chunk_bytes);
  CUDP_FUZZ_EXPECT(c.output_rank >= 0 && c.output_rank < static_cast<int>(c.devices.size()),
                   "output rank ", c.output_rank, " of ", c.devices.size());
  CUDP_FUZZ_EXPECT(c.log_every >= 1, "log every ", c.log_every);
  CUDP_FUZZ_EXPECT(std::isfinite(c.sgd.lr) && std::isfinite(c.lr_gamma), "lr ", c.sgd.lr,
                   ", gamma ", c.lr_gamma);
  for (size_t i = 1; i < c.lr_milestones.size(); ++i)
    CUDP_FUZZ_EXPECT(c.lr_milestones[i - 1] < c.lr_milestones[i], "milestones not increasing");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> args = split_args(data, size);
  expect_ok_or_error([&] { check_flags(args); });
  expect_ok_or_error([&] { check_train_config(args); });
  return 0;
}
