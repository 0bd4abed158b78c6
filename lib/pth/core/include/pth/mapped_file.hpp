#pragma once
#include <functional>
#include <memory>
#include <string>

#include "pth/bytes.hpp"

namespace pth {

// A whole file mapped read-only (an empty file maps to an empty view). Pages are only
// read when touched, so describing a 10 GB checkpoint touches a few kilobytes. The size is
// the size at open: nothing past it is ever read, however the file changes afterwards.
// If the file shrinks, touching the lost pages raises SIGBUS (see pth/mapping_fault.hpp).
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);  // throws pth::Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  ByteView view() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

  // Copies a region of view() into dst with pread: no page faults on the mapping, which
  // makes copying into memory the caller already has several times faster. `copied`, if
  // given, sees each piece as it lands in dst (while it is still in the cache). Throws
  // pth::FileDataError if the file no longer holds the region or cannot be read.
  using CopiedPiece = std::function<void(ByteView)>;
  void read_into(ByteView region, void* dst, const CopiedPiece& copied = nullptr) const;

  // True if the file's size or modification time differs from when it was opened.
  bool changed_since_open() const;

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int64_t mtime_ns_ = 0;
  int registry_slot_ = -1;
};

}  // namespace pth
