#include "pth/zip_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "internal/mapping_registry.hpp"  // kFileChangedWhileReading
#include "internal/zip_format.hpp"
#include "pth/crc32.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"

namespace pth {

namespace {

using namespace detail::zip;

constexpr uint64_t kEndSize = 22, kLocatorSize = 20, kEnd64Size = 56;
constexpr uint64_t kCentralSize = 46, kLocalSize = 30;

// True if [offset, offset + length) lies within [0, limit), without overflow.
bool fits(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string entry(const ZipEntry& e) { return "entry " + quoted(e.name); }

[[noreturn]] void no_end_record(const MappedFile& file) {
  file.load(0, 64);
  const ByteView v = file.view();
  const std::string_view head = v.str().substr(0, 64);
  if (head.rfind("version https://git-lfs", 0) == 0)
    throw FormatError("not a zip archive (a git-lfs pointer file, not the real content)");
  if (ZipReader::has_zip_signature(v))
    throw FormatError("truncated: zip archive has no end of central directory record");
  throw FormatError("not a zip archive (no end of central directory record)");
}

// Streams raw deflate data through sink(const uint8_t*, size_t), producing at most `limit`
// bytes. Returns the inflated length; throws FormatError on corrupt, truncated or
// overlong data.
template <typename Sink>
uint64_t inflate_raw(ByteView in, uint64_t limit, const std::string& what, Sink&& sink) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, -15) != Z_OK) throw Error("cannot initialise zlib inflate");
  struct End {
    z_stream* zs;
    ~End() { inflateEnd(zs); }
  } end{&zs};

  std::vector<uint8_t> buf(256 * 1024);
  const uint8_t* next = in.data;
  uint64_t in_left = in.size;
  uint64_t total = 0;
  for (;;) {
    if (zs.avail_in == 0 && in_left > 0) {
      const uInt n = uInt(std::min<uint64_t>(in_left, uint64_t(1) << 30));
      zs.next_in = const_cast<Bytef*>(next);
      zs.avail_in = n;
      next += n;
      in_left -= n;
    }
    zs.next_out = buf.data();
    zs.avail_out = uInt(buf.size());
    const int rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = buf.size() - zs.avail_out;
    if (produced > limit - total) throw FormatError(what + " inflates to more than its declared size");
    total += produced;
    if (produced > 0) sink(buf.data(), produced);
    if (rc == Z_STREAM_END) return total;
    if (rc == Z_MEM_ERROR) throw Error("out of memory while inflating " + what);
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
      throw FormatError(what + " has corrupt deflate data (" + (zs.msg ? zs.msg : "bad stream") + ")");
    if (zs.avail_in == 0 && in_left == 0 && produced == 0)
      throw FormatError(what + " has truncated deflate data");
  }
}

void check_bomb(const ZipEntry& e, const ZipLimits& limits) {
  const uint64_t slack = uint64_t(1) << 20;
  const uint64_t ratio = limits.max_inflate_ratio;
  if (ratio != 0 && e.compressed_size > (std::numeric_limits<uint64_t>::max() - slack) / ratio) return;
  if (e.uncompressed_size > e.compressed_size * ratio + slack)
    throw FormatError("zip bomb: " + entry(e) + " claims " +
                      std::to_string(e.uncompressed_size / std::max<uint64_t>(e.compressed_size, 1)) +
                      "x expansion");
}

}  // namespace

bool ZipReader::has_zip_signature(ByteView head) {
  return head.size >= 4 && head.data[0] == 'P' && head.data[1] == 'K' &&
         ((head.data[2] == 3 && head.data[3] == 4) || (head.data[2] == 5 && head.data[3] == 6));
}

ZipReader::ZipReader(std::shared_ptr<const MappedFile> file, ZipLimits limits)
    : file_(std::move(file)), limits_(limits) {
  if (!file_) throw Error("no file");
  const ByteView v = file_->view();
  const uint8_t* d = v.data;
  const uint64_t size = v.size;

  // The end record is the last 22 bytes unless a comment (at most 65535 bytes) follows it.
  if (size < kEndSize) no_end_record(*file_);
  uint64_t eocd = size;
  const uint64_t lowest = size - kEndSize > 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  file_->load(lowest, size - lowest);
  for (uint64_t pos = size - kEndSize + 1; pos-- > lowest;) {
    if (load_le32(d + pos) == kEndSig && pos + kEndSize + load_le16(d + pos + 20) <= size) {
      eocd = pos;
      break;
    }
  }
  if (eocd == size) no_end_record(*file_);

  uint64_t disk = load_le16(d + eocd + 4);
  uint64_t cd_disk = load_le16(d + eocd + 6);
  uint64_t count_disk = load_le16(d + eocd + 8);
  uint64_t count = load_le16(d + eocd + 10);
  uint64_t cd_size = load_le32(d + eocd + 12);
  uint64_t cd_offset = load_le32(d + eocd + 16);
  uint64_t cd_limit = eocd;  // the central directory must end before the end records

  if (eocd >= kLocatorSize) file_->load(eocd - kLocatorSize, kLocatorSize);
  if (eocd >= kLocatorSize && load_le32(d + eocd - kLocatorSize) == kEnd64LocatorSig) {
    const uint64_t loc = eocd - kLocatorSize;
    const uint64_t rec = load_le64(d + loc + 8);
    const uint64_t disks = load_le32(d + loc + 16);
    if (!fits(rec, kEnd64Size, loc))
      throw FormatError("bad zip64 locator: zip64 end record lies outside the file");
    file_->load(rec, kEnd64Size);
    if (load_le32(d + rec) != kEnd64Sig) throw FormatError("bad zip64 locator: no zip64 end record where it points");
    const uint64_t rec_size = load_le64(d + rec + 4);
    if (rec_size < kEnd64Size - 12 || rec_size > loc - rec - 12)
      throw FormatError("bad zip64 end of central directory record size");
    if (disks > 1 || load_le32(d + loc + 4) != 0) throw FormatError("multi-disk zip archives are not supported");
    disk = load_le32(d + rec + 16);
    cd_disk = load_le32(d + rec + 20);
    count_disk = load_le64(d + rec + 24);
    count = load_le64(d + rec + 32);
    cd_size = load_le64(d + rec + 40);
    cd_offset = load_le64(d + rec + 48);
    cd_limit = rec;
  }
  if (disk != 0 || cd_disk != 0 || count_disk != count)
    throw FormatError("multi-disk zip archives are not supported");
  if (count > limits_.max_entries)
    throw FormatError("too many entries (" + std::to_string(count) + "; the limit is " +
                      std::to_string(limits_.max_entries) + ")");
  if (!fits(cd_offset, cd_size, size)) throw FormatError("truncated: central directory extends past end of file");
  if (!fits(cd_offset, cd_size, cd_limit)) throw FormatError("central directory overlaps the end records");
  if (count > cd_size / kCentralSize)
    throw FormatError("central directory too small for " + std::to_string(count) + " entries");
  file_->load(cd_offset, cd_size);
  cd_offset_ = cd_offset;

  entries_.reserve(count);
  const uint64_t cd_end = cd_offset + cd_size;
  uint64_t p = cd_offset;
  for (uint64_t i = 0; i < count; ++i) {
    const auto which = [i] { return "central directory entry " + std::to_string(i); };
    if (!fits(p, kCentralSize, cd_end)) throw FormatError("truncated: " + which() + " extends past the directory");
    if (load_le32(d + p) != kCentralSig) throw FormatError("bad signature in " + which());
    const uint8_t* c = d + p;
    const uint16_t flags = load_le16(c + 8);
    const uint64_t name_len = load_le16(c + 28), extra_len = load_le16(c + 30), comment_len = load_le16(c + 32);
    if (!fits(p, kCentralSize + name_len + extra_len + comment_len, cd_end))
      throw FormatError("truncated: " + which() + " extends past the directory");

    ZipEntry e;
    e.method = load_le16(c + 10);
    e.crc32 = load_le32(c + 16);
    e.compressed_size = load_le32(c + 20);
    e.uncompressed_size = load_le32(c + 24);
    e.local_header_offset = load_le32(c + 42);
    e.name.assign(reinterpret_cast<const char*>(c + kCentralSize), name_len);

    // Zip64 extra field: the 64-bit values, present only for the 32-bit fields that are
    // 0xFFFFFFFF, in this order.
    const uint8_t* x = c + kCentralSize + name_len;
    for (uint64_t at = 0; at + 4 <= extra_len;) {
      const uint16_t id = load_le16(x + at), len = load_le16(x + at + 2);
      if (len > extra_len - at - 4) throw FormatError(entry(e) + " has a malformed extra field");
      if (id == kZip64ExtraId) {
        const uint8_t* z = x + at + 4;
        uint64_t left = len;
        for (uint64_t* field : {&e.uncompressed_size, &e.compressed_size, &e.local_header_offset}) {
          if (*field != kMax32) continue;
          if (left < 8) throw FormatError(entry(e) + " has a truncated zip64 extra field");
          *field = load_le64(z);
          z += 8;
          left -= 8;
        }
      }
      at += 4 + uint64_t(len);
    }
    p += kCentralSize + name_len + extra_len + comment_len;

    if (flags & 0x0041) throw FormatError(entry(e) + " is encrypted");
    if (e.method != 0 && e.method != 8)
      throw FormatError(entry(e) + " uses unsupported compression method " + std::to_string(e.method));
    if (e.method == 0 && e.compressed_size != e.uncompressed_size)
      throw FormatError(entry(e) + " is stored but its sizes differ");

    const uint64_t lh = e.local_header_offset;
    if (!fits(lh, kLocalSize, size)) throw FormatError(entry(e) + " local header lies outside the file");
    if (!file_->is_stand_in()) e.data_offset = locate_data(e);
    else if (!fits(lh + kLocalSize + name_len, e.compressed_size, size))
      throw FormatError(entry(e) + " data lies outside the file");   // what locate_data would find first
    entries_.push_back(std::move(e));
  }

  by_name_.resize(entries_.size());
  for (size_t i = 0; i < by_name_.size(); ++i) by_name_[i] = i;
  std::sort(by_name_.begin(), by_name_.end(), [&](size_t a, size_t b) { return entries_[a].name < entries_[b].name; });
  for (size_t i = 1; i < by_name_.size(); ++i)
    if (entries_[by_name_[i]].name == entries_[by_name_[i - 1]].name)
      throw FormatError("duplicate " + entry(entries_[by_name_[i]]));

  // Entries must not share bytes with each other or the central directory: overlapping
  // entries are a zip-bomb trick and make "the data of entry x" ambiguous. An unread local
  // header is at least as long as the name; data_start checks the rest once it is read.
  by_offset_ = by_name_;
  std::sort(by_offset_.begin(), by_offset_.end(), [&](size_t a, size_t b) {
    return entries_[a].local_header_offset < entries_[b].local_header_offset;
  });
  for (size_t i = 0; i < by_offset_.size(); ++i) {
    const ZipEntry& e = entries_[by_offset_[i]];
    const uint64_t start = e.data_offset != 0 ? e.data_offset : e.local_header_offset + kLocalSize + e.name.size();
    check_data_end(i, start + e.compressed_size);
  }
}

uint64_t ZipReader::locate_data(const ZipEntry& e) const {
  // Sizes and CRC in the local header may be zero (flag bit 3, as torch.save writes);
  // only its signature and lengths matter, to find the data.
  const uint8_t* d = file_->view().data;
  const uint64_t size = file_->view().size;
  const uint64_t lh = e.local_header_offset;
  file_->load(lh, kLocalSize);
  if (load_le32(d + lh) != kLocalSig) throw FormatError(entry(e) + " has a bad local header signature");
  const uint64_t local_name_len = load_le16(d + lh + 26), local_extra_len = load_le16(d + lh + 28);
  if (!fits(lh + kLocalSize, local_name_len + local_extra_len, size))
    throw FormatError(entry(e) + " local header lies outside the file");
  file_->load(lh + kLocalSize, local_name_len + local_extra_len);
  if (local_name_len != e.name.size() || std::memcmp(d + lh + kLocalSize, e.name.data(), e.name.size()) != 0)
    throw FormatError(entry(e) + " local header names a different file");
  const uint64_t start = lh + kLocalSize + local_name_len + local_extra_len;
  if (!fits(start, e.compressed_size, size)) throw FormatError(entry(e) + " data lies outside the file");
  return start;
}

void ZipReader::check_data_end(size_t at, uint64_t end) const {
  const ZipEntry& e = entries_[by_offset_[at]];
  if (at + 1 < by_offset_.size() && end > entries_[by_offset_[at + 1]].local_header_offset)
    throw FormatError(entry(e) + " overlaps " + entry(entries_[by_offset_[at + 1]]));
  if (end > cd_offset_) throw FormatError(entry(e) + " data overlaps the central directory");
}

uint64_t ZipReader::data_start(const ZipEntry& e) const {
  if (e.data_offset != 0) return e.data_offset;
  const uint64_t start = locate_data(e);
  // Local header offsets are distinct (the check at open): e's place is its offset's.
  const auto at = std::lower_bound(by_offset_.begin(), by_offset_.end(), e.local_header_offset,
                                   [&](size_t i, uint64_t lh) { return entries_[i].local_header_offset < lh; });
  check_data_end(size_t(at - by_offset_.begin()), start + e.compressed_size);
  return start;
}

ByteView ZipReader::data_of(const ZipEntry& e) const {
  const uint64_t start = data_start(e);
  const ByteView v = file_->view();
  if (!fits(start, e.compressed_size, v.size)) throw FormatError(entry(e) + " data lies outside the file");
  file_->load(start, e.compressed_size);
  return v.sub(size_t(start), size_t(e.compressed_size));
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  const auto it = std::lower_bound(by_name_.begin(), by_name_.end(), name,
                                   [&](size_t i, const std::string& n) { return entries_[i].name < n; });
  if (it == by_name_.end() || entries_[*it].name != name) return nullptr;
  return &entries_[*it];
}

ByteView ZipReader::stored_view(const ZipEntry& e) const {
  if (e.method != 0) throw FormatError(entry(e) + " is compressed and cannot be viewed in place");
  return data_of(e);
}

void ZipReader::check_inflatable(const ZipEntry& e) const {
  if (e.method != 8) throw FormatError(entry(e) + " uses unsupported compression method " + std::to_string(e.method));
  check_bomb(e, limits_);
  if (!fits(data_start(e), e.compressed_size, file_->view().size)) throw FormatError(entry(e) + " data lies outside the file");
}

template <typename Sink>
void ZipReader::inflate_entry(const ZipEntry& e, Sink&& sink) const {
  check_inflatable(e);
  const uint64_t n = inflate_raw(data_of(e), e.uncompressed_size, entry(e), sink);
  if (n != e.uncompressed_size) throw FormatError(entry(e) + " inflates to less than its declared size");
}

std::vector<uint8_t> ZipReader::read(const ZipEntry& e, uint64_t max_size) const {
  if (e.method == 8) check_inflatable(e);
  if (e.uncompressed_size > max_size)
    throw FormatError(entry(e) + " is too large (" + std::to_string(e.uncompressed_size) +
                      " bytes; the limit is " + std::to_string(max_size) + ")");
  std::vector<uint8_t> out;
  uint32_t crc = 0;
  if (e.method == 0) {
    const ByteView s = stored_view(e);
    out.assign(s.data, s.data + s.size);
    crc = crc32_update(0, {out.data(), out.size()});
  } else {
    // The claim is only trusted up to a point; past it the vector grows as data arrives.
    out.reserve(size_t(std::min<uint64_t>(e.uncompressed_size, uint64_t(256) << 20)));
    inflate_entry(e, [&](const uint8_t* p, size_t len) {
      out.insert(out.end(), p, p + len);
      crc = crc32_update(crc, {p, len});
    });
  }
  expect_crc(e, crc);
  return out;
}

uint32_t ZipReader::data_crc(const ZipEntry& e) const {
  if (e.method == 0) return crc32_update(0, stored_view(e));
  uint32_t crc = 0;
  inflate_entry(e, [&](const uint8_t* p, size_t len) { crc = crc32_update(crc, {p, len}); });
  return crc;
}

void ZipReader::check_crc(const ZipEntry& e) const { expect_crc(e, data_crc(e)); }

void ZipReader::expect_crc(const ZipEntry& e, uint32_t crc) const {
  if (crc == e.crc32) return;
  throw FileDataError(file_->path(), file_->changed_since_open() ? detail::kFileChangedWhileReading
                                                                 : "CRC mismatch in record " + quoted(e.name));
}

// Entries that cannot be checked at all (outside the file, a zip-bomb claim) throw.
bool ZipReader::crc_matches(const ZipEntry& e) const {
  if (e.method == 0) return data_crc(e) == e.crc32;
  check_inflatable(e);
  try {
    return data_crc(e) == e.crc32;
  } catch (const FormatError&) {
    return false;   // corrupt or wrongly sized deflate data
  }
}

}  // namespace pth
