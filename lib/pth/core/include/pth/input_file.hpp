#pragma once
// Opening what a program reads. An input must be a regular file: a FIFO, socket or device
// would block the reader or never end, so it is refused without waiting for a writer.
#include <cstdint>
#include <cstdio>
#include <string>

namespace pth {

// A read-only descriptor of a regular file, closed on destruction.
class InputFd {
 public:
  // Throws pth::Error: "cannot open: <errno text>", "is a directory", "not a regular file".
  explicit InputFd(const std::string& path);
  ~InputFd();
  InputFd(const InputFd&) = delete;
  InputFd& operator=(const InputFd&) = delete;

  int get() const { return fd_; }
  uint64_t size() const { return size_; }   // at open time
  // Gives the descriptor away (to fdopen, gzdopen, a mapping); the caller closes it.
  int release();

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Why `path` cannot be an input, as InputFd would refuse it ("No such file or directory",
// "is a directory", "not a regular file", ...), found without opening it; empty if it can.
std::string input_file_problem(const std::string& path);

// The whole content of a regular file; pth::Error as InputFd, or "larger than N bytes".
std::string read_input_file(const std::string& path, uint64_t max_bytes);

// A stdio stream ("rb") on a regular file; pth::Error as InputFd.
std::FILE* open_input_stream(const std::string& path);

}  // namespace pth
