#pragma once
// Safetensors files, read and written; what is accepted is in lib/pth/FORMAT.md.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pth/bytes.hpp"
#include "pth/mapped_file.hpp"
#include "pth/value.hpp"

namespace pth {

// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON
//   {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...}
// then the data buffer; offsets are relative to the buffer, tensors are contiguous,
// row-major, little-endian.

using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct SafetensorsFile {
  std::string path;
  Value tensors;           // OrderedDict name -> Tensor, in the order of their data in the file
  StringPairs metadata;    // "__metadata__", in header order
  std::shared_ptr<const MappedFile> file;   // null when parsed from memory
};

// Maps and parses a safetensors file. Refuses (pth::FormatError, one line, without the
// path) a header length past the end of the file or over 100 MB, a header that is not a
// JSON object, an unknown or unsupported dtype, a size other than numel * itemsize,
// overlapping or out-of-order offsets, gaps, bytes after the last tensor, duplicate names.
// Tensor data is not read: storages point into the mapping.
SafetensorsFile read_safetensors(const std::string& path);
// The same over bytes in memory; `owner` keeps them alive (the tensors view them).
SafetensorsFile parse_safetensors(ByteView bytes, std::shared_ptr<const void> owner);

// True if `head` (the first bytes of a file, at least 9) looks like safetensors rather
// than a torch.save zip ("PK") or legacy pickle (0x80): a sane length then '{'.
bool looks_like_safetensors(ByteView head, uint64_t file_size);

// "F32", "BF16", "I64", "BOOL", "C64", ...; nullopt for complex128 (no safetensors name).
std::optional<std::string_view> safetensors_dtype_name(DType t);
std::optional<DType> dtype_from_safetensors_name(std::string_view name);

struct NamedTensor {
  std::string name;
  std::shared_ptr<Tensor> tensor;
};

// Writes tensors (in this order) and metadata as a safetensors file, atomically. The
// header is padded with spaces so that the data starts on an 8-byte boundary. Each
// contiguous tensor is written straight from its storage; views are written element by
// element in row-major order. Throws pth::Error (duplicate name, a dtype safetensors
// cannot hold, missing data, I/O). With `replace` false a file that appeared meanwhile is
// not replaced (pth::Error).
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, const StringPairs& metadata = {},
                       bool replace = true);

// The header bytes write_safetensors would write (the 8-byte length not included).
std::string safetensors_header(const std::vector<NamedTensor>& tensors, const StringPairs& metadata);

}  // namespace pth
