#include "pth/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pth/error.hpp"

namespace pth {

InputFd::InputFd(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) throw Error(std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    throw Error(std::string("cannot stat: ") + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    throw Error(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = uint64_t(st.st_size);
}

InputFd::~InputFd() {
  if (fd_ >= 0) ::close(fd_);
}

int InputFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string input_file_problem(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a directory";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  return {};
}

std::string read_input_file(const std::string& path, uint64_t max_bytes) {
  InputFd in(path);
  if (in.size() > max_bytes) throw Error("larger than " + std::to_string(max_bytes) + " bytes");
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) return text;
    if (text.size() + size_t(n) > max_bytes) throw Error("larger than " + std::to_string(max_bytes) + " bytes");
    text.append(buf, size_t(n));
  }
}

std::FILE* open_input_stream(const std::string& path) {
  InputFd in(path);
  std::FILE* f = ::fdopen(in.get(), "rb");
  if (!f) throw Error(std::string("cannot open: ") + std::strerror(errno));
  in.release();
  return f;
}

}  // namespace pth
