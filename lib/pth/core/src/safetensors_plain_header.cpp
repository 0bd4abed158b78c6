#include <array>
#include <limits>
#include <unordered_set>

#include "internal/safetensors_header.hpp"

namespace pth::detail {
namespace {

// The shortest entry of the plain form, with its comma: "":{"dtype":"","shape":[],"data_offsets":[0,0]},
constexpr size_t kLeastEntryBytes = 48;

// The characters a string of the plain form holds: printable ASCII but '"' and '\\'.
constexpr auto kInString = [] {
  std::array<bool, 256> in{};
  for (int c = 0x20; c <= 0x7e; ++c) in[size_t(c)] = c != '"' && c != '\\';
  return in;
}();

class PlainReader {
 public:
  explicit PlainReader(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  bool header(std::vector<SafetensorsEntry>& tensors, std::vector<std::string_view>& dtypes, StringPairs& metadata) {
    tensors.reserve(size_t(end_ - p_) / kLeastEntryBytes + 1);
    dtypes.reserve(tensors.capacity());
    bool metadata_seen = false;
    space();
    if (!eat('{')) return false;
    space();
    if (eat('}')) return at_end();
    for (;;) {
      std::string_view name;
      if (!string(name) || !colon()) return false;
      if (name == "__metadata__") {
        if (metadata_seen || !metadata_object(metadata)) return false;
        metadata_seen = true;
      } else {
        tensors.emplace_back();
        tensors.back().name = std::string(name);
        if (!entry_object(tensors.back(), dtypes.emplace_back())) return false;
      }
      space();
      if (eat('}')) return at_end();
      if (!eat(',')) return false;
      space();
    }
  }

 private:
  void space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool eat(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at_end() {
    space();
    return p_ == end_;
  }
  bool colon() {
    space();
    if (!eat(':')) return false;
    space();
    return true;
  }
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* start = p_;
    while (p_ < end_ && kInString[static_cast<unsigned char>(*p_)]) ++p_;
    if (p_ == end_ || *p_ != '"') return false;
    out = std::string_view(start, size_t(p_ - start));
    ++p_;
    return true;
  }
  // 0, or up to 19 digits without a leading zero: what JSON reads as an unsigned integer.
  bool number(uint64_t& out) {
    const char* start = p_;
    if (p_ < end_ && *p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    const size_t digits = size_t(p_ - start);
    if (digits == 0 || digits > 19) return false;
    if (p_ < end_ && ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    out = 0;
    for (const char* d = start; d < p_; ++d) out = out * 10 + uint64_t(*d - '0');
    return true;
  }
  bool dimensions(std::vector<int64_t>& out) {
    if (!eat('[')) return false;
    space();
    if (eat(']')) return true;
    for (;;) {
      uint64_t v;
      if (!number(v) || v > uint64_t(std::numeric_limits<int64_t>::max())) return false;
      out.push_back(int64_t(v));
      space();
      if (eat(']')) return true;
      if (!eat(',')) return false;
      space();
    }
  }
  bool pair(uint64_t& first, uint64_t& second) {
    if (!eat('[')) return false;
    space();
    if (!number(first)) return false;
    space();
    if (!eat(',')) return false;
    space();
    if (!number(second)) return false;
    space();
    return eat(']');
  }
  bool entry_object(SafetensorsEntry& e, std::string_view& dtype_text) {
    if (!eat('{')) return false;
    space();
    bool dtype = false, shape = false, offsets = false;
    for (int field = 0; field < 3; ++field) {
      std::string_view key;
      if (!string(key) || !colon()) return false;
      if (key == "dtype" && !dtype) {
        dtype = string(dtype_text);
        if (!dtype) return false;
      } else if (key == "shape" && !shape) {
        shape = dimensions(e.shape);
        if (!shape) return false;
      } else if (key == "data_offsets" && !offsets) {
        offsets = pair(e.begin, e.end);
        if (!offsets) return false;
      } else {
        return false;
      }
      space();
      if (field < 2) {
        if (!eat(',')) return false;
        space();
      }
    }
    return eat('}');
  }
  bool metadata_object(StringPairs& metadata) {
    if (!eat('{')) return false;
    space();
    if (eat('}')) return true;
    std::unordered_set<std::string_view> keys;
    for (;;) {
      std::string_view key, value;
      if (!string(key) || !colon() || !string(value) || !keys.insert(key).second) return false;
      metadata.emplace_back(std::string(key), std::string(value));
      space();
      if (eat('}')) return true;
      if (!eat(',')) return false;
      space();
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool read_plain_header(std::string_view text, std::vector<SafetensorsEntry>& tensors, std::vector<std::string_view>& dtypes,
                       StringPairs& metadata) {
  return PlainReader(text).header(tensors, dtypes, metadata);
}

}  // namespace pth::detail
