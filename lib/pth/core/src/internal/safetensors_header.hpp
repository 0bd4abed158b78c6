#pragma once
// Reading a safetensors header (the JSON text after the 8-byte length): safetensors.cpp
// builds the tensors from what this returns, sg-ckpt-adapt edits its names.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pth/bytes.hpp"
#include "pth/dtype.hpp"
#include "pth/safetensors.hpp"

namespace pth::detail {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;   // data_offsets
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> tensors;
  StringPairs metadata;                    // "__metadata__", header order
};

// Parses the header and checks every entry (dtype known and supported, shape, offsets in
// order, size numel * itemsize), then that the entries in offset order tile a data buffer
// of `buffer_size` bytes; `tensors` come back in that order. Throws FormatError, one line:
// for invalid JSON, else a name given twice, else the first bad entry in header order,
// else the first gap or overlap.
SafetensorsHeader parse_safetensors_header(std::string_view text, uint64_t buffer_size);

// A whole file in memory: the length checked, the header parsed, the data buffer after it.
struct SafetensorsLayout {
  SafetensorsHeader header;
  ByteView buffer;
};
SafetensorsLayout read_safetensors_layout(ByteView bytes);

// Reads a header in the form every writer uses, without a general JSON parser: names and
// strings of printable ASCII without escapes, each entry exactly "dtype", "shape" and
// "data_offsets" (in any order) with unsigned integers (below 2^63 in shapes, which
// become the tensors' own), "__metadata__" at most once with
// distinct string keys and values. The entries come back with their fields unchecked and
// their dtypes as spelled in `dtypes`, one for each. Returns false at the first thing
// outside that form (nothing else in the outputs is to be used); JSON that is valid in
// that form reads exactly as a JSON parser reads it.
bool read_plain_header(std::string_view text, std::vector<SafetensorsEntry>& tensors, std::vector<std::string_view>& dtypes,
                       StringPairs& metadata);

}  // namespace pth::detail
