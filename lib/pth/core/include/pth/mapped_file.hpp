#pragma once
#include <cstdint>
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

  // A local stand-in for a file kept elsewhere, as large as the original and filled as it
  // is read: `loader` writes the original's bytes [offset, offset + length) into the file
  // at `path` (or throws), and readers call load() before they touch a region.
  using RegionLoader = std::function<void(uint64_t offset, uint64_t length)>;
  static std::shared_ptr<const MappedFile> open_stand_in(const std::string& path, RegionLoader loader);
  // That [offset, offset + length) of view() (clamped to it) holds the file's bytes: a
  // stand-in's loader fetches them; nothing to do for a file opened whole.
  void load(uint64_t offset, uint64_t length) const;
  bool is_stand_in() const { return bool(loader_); }
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

  // True if the file's size or modification time differs from when it was opened (only
  // its size, for a stand-in: its loader writes to it).
  bool changed_since_open() const;

 private:
  MappedFile() = default;
  static std::shared_ptr<MappedFile> map(const std::string& path);
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int64_t mtime_ns_ = 0;
  int registry_slot_ = -1;
  RegionLoader loader_;
};

}  // namespace pth
