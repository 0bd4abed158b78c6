#pragma once
// The test tools' command lines: strict number parsing and the one-line error.
#include <cstdio>
#include <cstdlib>
#include <exception>
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

// An integer of at least `min` (default: a non-negative integer).
inline int64_t parse_count(const std::string& s, const char* what, long long min = 0) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v < min) throw UsageError(std::string("bad ") + what + ": '" + s + "'");
  return v;
}

// Prints "<program>: error: <what>" as one line on stderr (line breaks become spaces);
// returns exit status 2.
inline int print_error(const char* program, const std::exception& e) {
  std::string msg = e.what();
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "%s: error: %s\n", program, msg.c_str());
  return 2;
}

// A tool's main: `parse()` gives the options, `run(options)` the exit status; a usage
// error in either exits 2 and any other failure of `run` 1, each as one line on stderr.
template <typename Parse, typename Run>
int tool_main(const char* program, Parse parse, Run run) {
  decltype(parse()) options;
  try {
    options = parse();
  } catch (const std::exception& e) {
    return print_error(program, e);
  }
  try {
    return run(options);
  } catch (const UsageError& e) {
    return print_error(program, e);
  } catch (const std::exception& e) {
    print_error(program, e);
    return 1;
  }
}
