#include "sg/train/append_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pth/error.hpp"
#include "recipe/run_errors.hpp"

namespace sg {
namespace {

RunWriteError write_error(const std::string& path, int err) {
  return RunWriteError("cannot write " + path + ": " + (err == ELOOP ? "it is a symbolic link (not followed)" : std::strerror(err)),
                       pth::is_no_space(err));
}

}  // namespace

AppendFile::AppendFile(const pth::Folder& folder, const std::string& name, Mode mode) : path_(folder.path_of(name)) {
  const int flags = O_WRONLY | O_CREAT | (mode == Mode::CreateNew ? O_EXCL : O_APPEND);
  fd_ = folder.open_file(name, flags, 0644);
  if (fd_ < 0) throw write_error(path_, errno);
  size_ = ::lseek(fd_, 0, SEEK_END);
  if (size_ < 0) {
    const int err = errno;
    ::close(fd_);
    throw write_error(path_, err);
  }
}

AppendFile::~AppendFile() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendFile::append(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      // Cut the part of the record that made it, so the file ends on a whole record; if
      // even that fails, the write error below is still what the caller must hear.
      if (::ftruncate(fd_, size_) == 0) ::lseek(fd_, size_, SEEK_SET);
      throw write_error(path_, err);
    }
    done += size_t(n);
  }
  size_ += off_t(bytes.size());
}

}  // namespace sg
