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

// A write that found no room: the device is full (ENOSPC), a quota (EDQUOT) or the
// file-size limit (EFBIG) is reached. The same failure later may well succeed.
class NoSpaceError : public Error {
 public:
  explicit NoSpaceError(const std::string& what) : Error(what) {}
};

bool is_no_space(int err);   // the errno values above
// Throws NoSpaceError for those, else Error: "<what>: <strerror>".
[[noreturn]] void throw_io_error(const std::string& what, int err);

}  // namespace pth
