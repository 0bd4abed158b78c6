#include "pth/positioned_write.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

#include "pth/error.hpp"

namespace pth {

void write_at(int fd, uint64_t offset, ByteView bytes) {
  size_t done = 0;
  while (done < bytes.size) {
    const ssize_t n = ::pwrite(fd, bytes.data + done, bytes.size - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_io_error("write failed", n < 0 ? errno : ENOSPC);
    done += size_t(n);
  }
}

}  // namespace pth
