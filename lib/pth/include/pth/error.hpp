#pragma once
#include <stdexcept>
#include <string>
#include <utility>

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

// An input file's data failed a check as it was used: a CRC mismatch, or the file changed
// (shrank, was rewritten) while it was being read. It names the file, because data is
// often used far from where its file was opened: while writing another file, comparing two.
class FileDataError : public FormatError {
 public:
  FileDataError(std::string file, const std::string& what) : FormatError(what), file_(std::move(file)) {}
  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

}  // namespace pth
