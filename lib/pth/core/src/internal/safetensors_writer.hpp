#pragma once
// Writing safetensors files: the header from (name, dtype, shape, size) rows and the file
// through one AtomicFile, shared by write_safetensors and sg-ckpt-adapt's path that edits
// only a header's names.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/dtype.hpp"
#include "pth/safetensors.hpp"

namespace pth::detail {

struct SafetensorsRow {
  std::string_view name;
  DType dtype;
  const std::vector<int64_t>* shape;
  uint64_t nbytes;
};

// The header for `count` rows (row_at(0), ...) whose data follow one another in this order, padded with spaces
// to a multiple of 8 bytes. Throws pth::Error for the name "__metadata__", a repeated
// name (looked for unless the caller knows the names are distinct), or a dtype
// safetensors cannot hold.
std::string safetensors_header_text(size_t count, const std::function<SafetensorsRow(size_t)>& row_at,
                                    const StringPairs& metadata, bool names_distinct);

// A safetensors file being written: the length and the header, then the data in order.
// Runs that continue the previous one in memory (the tensors of a file read in) go out in
// one write: a million small tensors are not a million system calls.
class SafetensorsOut {
 public:
  SafetensorsOut(const std::string& path, const std::string& header, bool replace);
  void append(ByteView run);      // must stay valid until the next write_now or commit
  void write_now(ByteView run);   // valid only during the call
  void commit();

 private:
  void flush();

  AtomicFile out_;
  ByteView pending_;
};

}  // namespace pth::detail
