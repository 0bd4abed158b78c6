#pragma once
#include <stdexcept>
#include <string>

namespace pth {

// Every problem with a file's content or with I/O is reported as a pth::Error whose
// message is one line, ready to print after "<file>: ".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A malformed or hostile input: the file is not what it claims to be.
class FormatError : public Error {
 public:
  explicit FormatError(const std::string& what) : Error(what) {}
};

// A file that names a global outside the allow-list: refused, never resolved.
class UnsafeError : public FormatError {
 public:
  explicit UnsafeError(const std::string& what) : FormatError(what) {}
};

}  // namespace pth
