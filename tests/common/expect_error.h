// EXPECT_ERROR(statement, parts...): the statement throws cudp::Error whose
// message holds every part; the message is printed when it does not.
// EXPECT_PARAMETER_ERROR(statement, parameter, parts...): the same, and the
// error is a ParameterError for `parameter` (a library's name, never a flag).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "runtime/error.h"

namespace cudp::test {

template <class Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

template <class Body>
std::string parameter_of(Body&& body) {
  try {
    body();
  } catch (const ParameterError& e) {
    return e.parameter();
  } catch (const Error& e) {
    return std::string("(not a ParameterError: ") + e.what() + ")";
  }
  return "(nothing thrown)";
}

inline void expect_parts(const std::string& message, std::initializer_list<std::string> parts) {
  EXPECT_FALSE(message.empty()) << "expected a cudp::Error, none was thrown";
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

}  // namespace cudp::test

#define EXPECT_ERROR(statement, ...) \
  ::cudp::test::expect_parts(::cudp::test::error_of([&] { statement; }), {__VA_ARGS__})

#define EXPECT_PARAMETER_ERROR(statement, parameter, ...)                              \
  do {                                                                                 \
    EXPECT_EQ(::cudp::test::parameter_of([&] { statement; }), std::string(parameter)); \
    EXPECT_ERROR(statement, __VA_ARGS__);                                              \
  } while (0)
