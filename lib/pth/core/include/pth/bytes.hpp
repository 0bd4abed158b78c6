#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pth {

// A read-only view of bytes owned by someone else (a mapped file, a buffer, a tensor).
struct ByteView {
  const uint8_t* data = nullptr;
  size_t size = 0;

  ByteView() = default;
  ByteView(const void* p, size_t n) : data(static_cast<const uint8_t*>(p)), size(n) {}
  ByteView sub(size_t offset, size_t length) const { return {data + offset, length}; }
  std::string_view str() const { return {reinterpret_cast<const char*>(data), size}; }
  bool empty() const { return size == 0; }
};

inline uint16_t load_le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline uint64_t load_le64(const uint8_t* p) { return uint64_t(load_le32(p)) | (uint64_t(load_le32(p + 4)) << 32); }

}  // namespace pth
