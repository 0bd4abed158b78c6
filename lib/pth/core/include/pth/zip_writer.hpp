#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/bytes.hpp"

namespace pth {

// Writes a zip of stored entries the way torch.save lays them out: each entry's data
// starts on an `alignment` boundary, reached with an extra field of id "FB" filled
// with 'Z'; CRC-32 computed while writing; zip64 records used when sizes or offsets need
// them (and a zip64 end record always, as torch.save does). Data is written straight
// from the caller's buffers.
class ZipWriter {
 public:
  explicit ZipWriter(AtomicFile& out, uint64_t alignment = 64);

  void add(const std::string& name, ByteView data);
  // Several pieces written back to back as one entry (no copy into one buffer).
  void add(const std::string& name, const std::vector<ByteView>& pieces);
  void finish();  // central directory and end records; no add() after this

 private:
  // Small records are gathered and written in large blocks (a checkpoint of a million small
  // storages is not millions of system calls); large pieces go straight to the file.
  void emit(ByteView bytes);
  void flush();
  uint64_t position() const { return out_.position() + pending_.size(); }

  struct Written {
    std::string name;
    uint32_t crc32;
    uint64_t size;
    uint64_t local_header_offset;
  };
  AtomicFile& out_;
  uint64_t alignment_;
  std::vector<Written> written_;
  std::vector<uint8_t> header_;    // the local header being built, reused
  std::vector<uint8_t> pending_;   // emitted, not yet written
  bool finished_ = false;
};

}  // namespace pth
