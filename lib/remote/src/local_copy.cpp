#include "remote/local_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "pth/error.hpp"
#include "pth/positioned_write.hpp"
#include "remote/remote_error.hpp"

namespace remote {

std::string file_name_of(const Location& where) {
  const std::string name = where.name();
  return name.empty() || name == "." || name == ".." ? "download" : name;
}

LocalCopy::LocalCopy(const Location& from, const Rclone& rclone) : path_(folder_.file(file_name_of(from))) {
  rclone.download(from, path_);
}

class PartialCopy::Blocks {
 public:
  Blocks(Location from, Rclone rclone, const std::string& path, uint64_t size)
      : from_(std::move(from)), rclone_(std::move(rclone)), path_(path), size_(size),
        present_(size_t((size + kBlockBytes - 1) / kBlockBytes), false) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) throw RemoteError("cannot make " + path, std::strerror(errno));
    if (::ftruncate(fd_, off_t(size)) != 0) {
      const int err = errno;
      ::close(fd_);
      throw RemoteError("cannot make " + path, std::strerror(err));
    }
  }
  ~Blocks() { ::close(fd_); }

  void load(uint64_t offset, uint64_t length) {
    if (length == 0) return;
    std::lock_guard<std::mutex> lock(mutex_);
    const size_t last = size_t((offset + length - 1) / kBlockBytes);
    for (size_t b = size_t(offset / kBlockBytes); b <= last; ++b) {
      if (present_[b]) continue;
      size_t end = b;
      while (end + 1 <= last && !present_[end + 1]) ++end;
      fetch(b, end);
      b = end;
    }
  }

  uint64_t fetched() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return fetched_;
  }

 private:
  // Blocks first..last, inclusive, into the stand-in.
  void fetch(size_t first, size_t last) {
    const uint64_t start = first * kBlockBytes;
    const uint64_t count = std::min<uint64_t>((last + 1) * kBlockBytes, size_) - start;
    const std::string bytes = rclone_.read_range(from_, start, count);
    if (bytes.size() != count)
      throw RemoteError("cannot read " + from_.shown, "it changed while it was being read (" + std::to_string(count) +
                                                          " bytes asked for at " + std::to_string(start) + ", " +
                                                          std::to_string(bytes.size()) + " came)");
    try {
      pth::write_at(fd_, start, pth::ByteView(bytes.data(), bytes.size()));
    } catch (const pth::Error& e) {
      throw RemoteError("cannot write " + path_, e.what());
    }
    for (size_t b = first; b <= last; ++b) present_[b] = true;
    fetched_ += count;
  }

  const Location from_;
  const Rclone rclone_;
  const std::string path_;
  const uint64_t size_;
  int fd_ = -1;
  mutable std::mutex mutex_;
  std::vector<bool> present_;
  uint64_t fetched_ = 0;
};

PartialCopy::PartialCopy(const Location& from, const Rclone& rclone) {
  const std::string path = folder_.file(file_name_of(from));
  blocks_ = std::make_shared<Blocks>(from, rclone, path, rclone.size_of(from));
  file_ = pth::MappedFile::open_stand_in(path, [blocks = blocks_](uint64_t offset, uint64_t length) {
    blocks->load(offset, length);
  });
}

uint64_t PartialCopy::bytes_fetched() const { return blocks_->fetched(); }

}  // namespace remote
