#pragma once
#include <memory>
#include <string>

#include "pth/bytes.hpp"

namespace pth {

// A whole file mapped read-only (an empty file maps to an empty view). Pages are only
// read when touched, so describing a 10 GB checkpoint touches a few kilobytes.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);  // throws pth::Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  ByteView view() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Copies a region of view() into dst with pread: no page faults on the mapping, which
  // makes copying into memory the caller already has several times faster.
  void read_into(ByteView region, void* dst) const;

 private:
  MappedFile() = default;
  std::string path_;
  int fd_ = -1;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pth
