#include "pth/zip_writer.hpp"

#include <algorithm>
#include <future>

#include "internal/first_repeat.hpp"
#include "internal/zip_format.hpp"
#include "pth/crc32.hpp"
#include "pth/error.hpp"

namespace pth {

namespace {

using namespace detail::zip;

constexpr uint16_t kPaddingId = 0x4246;  // bytes 'F','B'
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01: reproducible files
constexpr uint16_t kUtf8Flag = 0x0800;
constexpr uint64_t kLocalCrcOffset = 14;  // of the CRC field in a local header
constexpr size_t kBlockBytes = 1 << 20;   // pending bytes are written once there are this many

// Appends little-endian fields to a byte vector.
struct Buf {
  std::vector<uint8_t>& b;
  void u16(uint16_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); }
  void u32(uint32_t v) { u16(uint16_t(v)); u16(uint16_t(v >> 16)); }
  void u64(uint64_t v) { u32(uint32_t(v)); u32(uint32_t(v >> 32)); }
  void bytes(const std::string& s) { b.insert(b.end(), s.begin(), s.end()); }
};

bool needs_utf8_flag(const std::string& name) {
  return std::any_of(name.begin(), name.end(), [](char c) { return uint8_t(c) >= 0x80; });
}

}  // namespace

ZipWriter::ZipWriter(AtomicFile& out, uint64_t alignment) : out_(out), alignment_(alignment) {
  if (alignment_ == 0) alignment_ = 1;
  // The padding must fit one extra field (at most 65535 bytes with the zip64 field).
  if (alignment_ > 32768) throw Error("zip alignment too large (at most 32768)");
}

void ZipWriter::add(const std::string& name, ByteView data) { add(name, std::vector<ByteView>{data}); }

// The CRC goes in the local header (flags 0, no data descriptor, so streaming unzippers
// can read the file). For large entries it is computed on another core while the data is
// written, then patched into the header: the write no longer waits for a CRC pass.
void ZipWriter::add(const std::string& name, const std::vector<ByteView>& pieces) {
  if (finished_) throw Error("zip writer: add() after finish()");
  if (name.empty() || name.size() > kMax16) throw Error("zip entry name empty or too long");

  uint64_t size = 0;
  for (const ByteView& piece : pieces) size += piece.size;
  auto crc_of_pieces = [&pieces] {
    uint32_t crc = 0;
    for (const ByteView& piece : pieces) crc = crc32_update(crc, piece);
    return crc;
  };
  constexpr uint64_t kParallelCrcBytes = 4 << 20;
  std::future<uint32_t> pending_crc;
  uint32_t crc = 0;
  if (size >= kParallelCrcBytes) pending_crc = std::async(std::launch::async, crc_of_pieces);
  else crc = crc_of_pieces();
  const uint64_t offset = position();
  const bool zip64_size = size >= kMax32;
  const bool zip64 = zip64_size || offset >= kMax32;

  header_.clear();
  Buf h{header_};
  h.u32(kLocalSig);
  h.u16(zip64 ? 45 : 20);
  h.u16(needs_utf8_flag(name) ? kUtf8Flag : 0);
  h.u16(0);  // stored
  h.u16(0);  // time
  h.u16(kDosDate);
  h.u32(crc);
  h.u32(uint32_t(zip64_size ? kMax32 : size));
  h.u32(uint32_t(zip64_size ? kMax32 : size));
  h.u16(uint16_t(name.size()));
  const size_t extra_len_at = h.b.size();
  h.u16(0);  // extra length, patched below
  h.bytes(name);
  if (zip64_size) {  // a local zip64 field carries both sizes
    h.u16(kZip64ExtraId);
    h.u16(16);
    h.u64(size);
    h.u64(size);
  }
  if (alignment_ > 1) {
    const uint64_t after_header = offset + h.b.size() + 4;
    const uint16_t pad = uint16_t((alignment_ - after_header % alignment_) % alignment_);
    h.u16(kPaddingId);
    h.u16(pad);
    h.b.insert(h.b.end(), pad, uint8_t('Z'));
  }
  const size_t extra_len = h.b.size() - extra_len_at - 2 - name.size();
  h.b[extra_len_at] = uint8_t(extra_len);
  h.b[extra_len_at + 1] = uint8_t(extra_len >> 8);

  emit({h.b.data(), h.b.size()});
  for (const ByteView& piece : pieces) emit(piece);
  if (pending_crc.valid()) {
    flush();   // the header is patched in the file
    crc = pending_crc.get();
    uint8_t field[4] = {uint8_t(crc), uint8_t(crc >> 8), uint8_t(crc >> 16), uint8_t(crc >> 24)};
    out_.write_at(offset + kLocalCrcOffset, {field, 4});
  }
  written_.push_back({name, crc, size, offset});
}

void ZipWriter::finish() {
  if (finished_) throw Error("zip writer: finish() called twice");
  finished_ = true;

  std::vector<std::string_view> names;
  names.reserve(written_.size());
  for (const Written& w : written_) names.push_back(w.name);
  if (const size_t repeat = detail::first_repeat(names); repeat != detail::kNoRepeat)
    throw Error("zip writer: duplicate entry name '" + written_[repeat].name + "'");

  const uint64_t cd_offset = position();
  std::vector<uint8_t> cd_bytes, z_bytes;
  Buf cd{cd_bytes};
  for (const Written& w : written_) {
    const bool big_size = w.size >= kMax32;
    const bool big_offset = w.local_header_offset >= kMax32;
    z_bytes.clear();
    Buf z{z_bytes};  // zip64 field: only the values that overflow, in this order
    if (big_size) { z.u64(w.size); z.u64(w.size); }
    if (big_offset) z.u64(w.local_header_offset);

    cd.u32(kCentralSig);
    cd.u16(45);  // made by: MS-DOS attributes, spec 4.5
    cd.u16(big_size || big_offset ? 45 : 20);
    cd.u16(needs_utf8_flag(w.name) ? kUtf8Flag : 0);
    cd.u16(0);
    cd.u16(0);
    cd.u16(kDosDate);
    cd.u32(w.crc32);
    cd.u32(uint32_t(big_size ? kMax32 : w.size));
    cd.u32(uint32_t(big_size ? kMax32 : w.size));
    cd.u16(uint16_t(w.name.size()));
    cd.u16(uint16_t(z.b.empty() ? 0 : 4 + z.b.size()));
    cd.u16(0);  // comment
    cd.u16(0);  // disk
    cd.u16(0);  // internal attributes
    cd.u32(0);  // external attributes
    cd.u32(uint32_t(big_offset ? kMax32 : w.local_header_offset));
    cd.bytes(w.name);
    if (!z.b.empty()) {
      cd.u16(kZip64ExtraId);
      cd.u16(uint16_t(z.b.size()));
      cd.b.insert(cd.b.end(), z.b.begin(), z.b.end());
    }
    if (cd.b.size() >= kBlockBytes) {  // keep the buffer bounded for huge archives
      emit({cd.b.data(), cd.b.size()});
      cd.b.clear();
    }
  }
  emit({cd.b.data(), cd.b.size()});

  const uint64_t end64_offset = position();
  const uint64_t cd_size = end64_offset - cd_offset;
  const uint64_t count = written_.size();
  std::vector<uint8_t> end_bytes;
  Buf e{end_bytes};
  e.u32(kEnd64Sig);
  e.u64(44);  // size of the rest of this record
  e.u16(45);
  e.u16(45);
  e.u32(0);
  e.u32(0);
  e.u64(count);
  e.u64(count);
  e.u64(cd_size);
  e.u64(cd_offset);

  e.u32(kEnd64LocatorSig);
  e.u32(0);
  e.u64(end64_offset);
  e.u32(1);  // total disks

  e.u32(kEndSig);
  e.u16(0);
  e.u16(0);
  e.u16(uint16_t(std::min<uint64_t>(count, kMax16)));
  e.u16(uint16_t(std::min<uint64_t>(count, kMax16)));
  e.u32(uint32_t(std::min(cd_size, kMax32)));
  e.u32(uint32_t(std::min(cd_offset, kMax32)));
  e.u16(0);  // comment
  emit({e.b.data(), e.b.size()});
  flush();
}

void ZipWriter::emit(ByteView bytes) {
  if (bytes.empty()) return;
  if (bytes.size >= kBlockBytes) {
    flush();
    out_.write(bytes);
    return;
  }
  pending_.insert(pending_.end(), bytes.data, bytes.data + bytes.size);
  if (pending_.size() >= kBlockBytes) flush();
}

void ZipWriter::flush() {
  if (pending_.empty()) return;
  out_.write({pending_.data(), pending_.size()});
  pending_.clear();
}

}  // namespace pth
