#include "pth/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "internal/mapping_registry.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"

namespace pth {

namespace {

std::string errno_text() { return std::strerror(errno); }

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

// Pieces small enough to stay in the core's cache between pread and `copied`, large
// enough that the system calls cost nothing next to the copy.
constexpr size_t kPieceBytes = size_t(256) << 10;

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) { return map(path); }

std::shared_ptr<MappedFile> MappedFile::map(const std::string& path) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  InputFd input(path);
  if (input.size() > SIZE_MAX) throw Error("file too large to map");
  struct stat st;
  if (::fstat(input.get(), &st) != 0) throw Error("cannot stat: " + errno_text());
  file->mtime_ns_ = mtime_ns(st);
  file->fd_ = input.release();

  const size_t size = size_t(input.size());
  if (size == 0) return file;

  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file->fd_, 0);
  if (p == MAP_FAILED) throw Error("cannot map: " + errno_text());
  file->data_ = static_cast<const uint8_t*>(p);
  file->size_ = size;
  file->registry_slot_ = detail::register_mapping(p, size, file->path_.c_str());

  // Readers start at the end (the zip central directory), then jump to the records they
  // need; hashing walks tensors front to back. Default readahead suits both, so only ask
  // for the tail early. Failure here is harmless.
  const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  const size_t tail = size < (size_t(1) << 20) ? size : (size_t(1) << 20);
  const size_t tail_start = (size - tail) / page * page;
  ::madvise(static_cast<uint8_t*>(p) + tail_start, size - tail_start, MADV_WILLNEED);
  return file;
}

std::shared_ptr<const MappedFile> MappedFile::open_stand_in(const std::string& path, RegionLoader loader) {
  std::shared_ptr<MappedFile> file = map(path);
  file->loader_ = std::move(loader);
  return file;
}

void MappedFile::load(uint64_t offset, uint64_t length) const {
  if (!loader_ || offset >= size_) return;
  loader_(offset, std::min<uint64_t>(length, size_ - offset));
}

MappedFile::~MappedFile() {
  detail::unregister_mapping(registry_slot_);
  if (data_ != nullptr && size_ != 0) ::munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

void MappedFile::read_into(ByteView region, void* dst, const CopiedPiece& copied) const {
  if (region.data < data_ || region.size > size_ || size_t(region.data - data_) > size_ - region.size)
    throw Error("read outside the mapped file");
  load(uint64_t(region.data - data_), region.size);
  auto* out = static_cast<uint8_t*>(dst);
  const off_t start = off_t(region.data - data_);
  const size_t piece = copied ? kPieceBytes : region.size;
  for (size_t done = 0; done < region.size;) {
    const size_t want = std::min(piece, region.size - done);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd_, out + done + got, want - got, start + off_t(done + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw FileDataError(path_, "read failed: " + errno_text());
      if (n == 0) throw FileDataError(path_, detail::kFileChangedWhileReading);
      got += size_t(n);
    }
    if (copied) copied({out + done, want});
    done += want;
  }
}

bool MappedFile::changed_since_open() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return true;
  return uint64_t(st.st_size) != size_ || (!loader_ && mtime_ns(st) != mtime_ns_);
}

}  // namespace pth
