#pragma once
// The zip container of torch.save files; the rules and limits are in lib/pth/FORMAT.md.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pth/bytes.hpp"
#include "pth/mapped_file.hpp"

namespace pth {

struct ZipEntry {
  std::string name;                // full name, e.g. "archive/data/0"
  uint16_t method = 0;             // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  // First byte of the entry's (compressed) data in the file; 0 while its local header is
  // unread (a stand-in's, until ZipReader::data_start is asked).
  uint64_t data_offset = 0;
};

// Limits on what a zip may claim before it is refused as hostile.
struct ZipLimits {
  uint64_t max_entries = 1u << 20;
  uint64_t max_inflate_ratio = 1100;   // deflate cannot exceed ~1032:1
};

// A zip archive read from a mapped file: the central directory (zip64 included) is parsed
// and every entry checked to lie inside the file; stored entries are viewed in place.
// In a stand-in (MappedFile::open_stand_in), read in parts from elsewhere, an entry's local
// header is only read, and checked, when its data is first asked for: listing a remote
// archive then costs its end records, central directory and the records actually read.
class ZipReader {
 public:
  // Throws pth::FormatError with a one-line reason ("not a zip archive", "truncated:
  // central directory past end of file", ...).
  explicit ZipReader(std::shared_ptr<const MappedFile> file, ZipLimits limits = {});

  static bool has_zip_signature(ByteView head);  // "PK\3\4" or "PK\5\6"

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;   // exact name, or null
  // Where e's data starts: e.data_offset, or read from its local header (a stand-in's).
  uint64_t data_start(const ZipEntry& e) const;

  // A stored entry's bytes in place (no copy, no CRC check). Throws for a deflated entry.
  ByteView stored_view(const ZipEntry& e) const;
  // The entry's uncompressed bytes: stored entries copied, deflated ones inflated, their
  // CRC checked (see expect_crc); at most `max_size` bytes or pth::FormatError (zip bomb /
  // oversize record).
  std::vector<uint8_t> read(const ZipEntry& e, uint64_t max_size) const;
  // Reads the entry's data and checks it against its CRC (see expect_crc).
  void check_crc(const ZipEntry& e) const;
  // Throws pth::FileDataError naming the file unless `crc` is the entry's recorded CRC-32:
  // "CRC mismatch in record '<name>'", or "the file changed while it was being read" when
  // the file's size or time differs from when it was opened.
  void expect_crc(const ZipEntry& e, uint32_t crc) const;
  // Recomputes the CRC-32 of the entry's uncompressed data; true if it matches (corrupt
  // deflate data is a mismatch). For --verify, which lists problems instead of stopping.
  bool crc_matches(const ZipEntry& e) const;

  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  // Throws unless a deflated entry can be inflated at all (inside the file, no bomb claim).
  void check_inflatable(const ZipEntry& e) const;
  // Inflates a deflated entry through sink(const uint8_t*, size_t); throws FormatError
  // unless it gives exactly the declared size.
  template <typename Sink>
  void inflate_entry(const ZipEntry& e, Sink&& sink) const;
  uint32_t data_crc(const ZipEntry& e) const;
  // Reads and checks e's local header (which must lie in the file); where its data starts.
  uint64_t locate_data(const ZipEntry& e) const;
  // Throws unless an entry's data ending at `end` stays before the next entry's local
  // header and the central directory; `at` is the entry's place in by_offset_.
  void check_data_end(size_t at, uint64_t end) const;
  // e's data in the mapping, loaded.
  ByteView data_of(const ZipEntry& e) const;

  std::shared_ptr<const MappedFile> file_;
  ZipLimits limits_;
  std::vector<ZipEntry> entries_;
  std::vector<size_t> by_name_;    // indices into entries_, sorted by name (for find)
  std::vector<size_t> by_offset_;  // indices into entries_, sorted by local header offset
  uint64_t cd_offset_ = 0;
};

}  // namespace pth
