#include "pth/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pth/error.hpp"
#include "pth/input_file.hpp"

namespace pth {

namespace {

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// Note: if another process truncates the file while it is mapped, touching the lost pages
// raises SIGBUS; nothing portable prevents that, and checkpoints are not rewritten in
// place (AtomicFile renames a new file over them), so we accept it.
std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  InputFd input(path);
  if (input.size() > SIZE_MAX) throw Error("file too large to map");
  file->fd_ = input.release();

  const size_t size = size_t(input.size());
  if (size == 0) return file;

  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file->fd_, 0);
  if (p == MAP_FAILED) throw Error("cannot map: " + errno_text());
  file->data_ = static_cast<const uint8_t*>(p);
  file->size_ = size;

  // Readers start at the end (the zip central directory), then jump to the records they
  // need; hashing walks tensors front to back. Default readahead suits both, so only ask
  // for the tail early. Failure here is harmless.
  const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  const size_t tail = size < (size_t(1) << 20) ? size : (size_t(1) << 20);
  const size_t tail_start = (size - tail) / page * page;
  ::madvise(static_cast<uint8_t*>(p) + tail_start, size - tail_start, MADV_WILLNEED);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr && size_ != 0) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::read_into(ByteView region, void* dst) const {
  if (region.data < data_ || region.size > size_ || size_t(region.data - data_) > size_ - region.size)
    throw Error("read outside the mapped file");
  auto* out = static_cast<uint8_t*>(dst);
  const off_t start = off_t(region.data - data_);
  size_t done = 0;
  while (done < region.size) {
    const ssize_t n = ::pread(fd_, out + done, region.size - done, start + off_t(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("read failed: " + (n < 0 ? errno_text() : std::string("file shrank while open")));
    done += size_t(n);
  }
}

}  // namespace pth
