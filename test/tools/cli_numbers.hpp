#pragma once
// Strict number parsing for the test tools' command lines.
#include <cstdlib>
#include <stdexcept>
#include <string>

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline double parse_double(const std::string& s, const char* what) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0') throw UsageError(std::string("bad ") + what + ": '" + s + "'");
  return v;
}

// A non-negative integer.
inline int64_t parse_count(const std::string& s, const char* what) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < 0) throw UsageError(std::string("bad ") + what + ": '" + s + "'");
  return v;
}
