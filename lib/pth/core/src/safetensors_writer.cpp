#include "internal/safetensors_writer.hpp"

#include <charconv>
#include <cstring>

#include "internal/first_repeat.hpp"
#include "pth/error.hpp"
#include "pth/json_writer.hpp"
#include "pth/message.hpp"
#include "pth/tensor_data.hpp"

namespace pth {
namespace detail {
namespace {

char* put(char* p, std::string_view text) {
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

char* put_number(char* p, uint64_t n) { return std::to_chars(p, p + 20, n).ptr; }

// {"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}, as JsonWriter writes it, into
// `scratch` in one go: headers have millions of entries.
std::string_view entry_body(std::string& scratch, std::string_view dtype, const std::vector<int64_t>& shape, uint64_t begin,
                            uint64_t end) {
  const size_t most = 64 + dtype.size() + 21 * (shape.size() + 2);   // at most 20 digits a number, and a comma
  if (scratch.size() < most) scratch.resize(most);
  char* const start = scratch.data();
  char* p = put(start, "{\"dtype\":\"");
  p = put(p, dtype);
  p = put(p, "\",\"shape\":[");
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) *p++ = ',';
    p = put_number(p, uint64_t(shape[i]));
  }
  p = put(p, "],\"data_offsets\":[");
  p = put_number(p, begin);
  *p++ = ',';
  p = put_number(p, end);
  p = put(p, "]}");
  return std::string_view(start, size_t(p - start));
}

}  // namespace

std::string safetensors_header_text(size_t count, const std::function<SafetensorsRow(size_t)>& row_at,
                                    const StringPairs& metadata, bool names_distinct) {
  size_t repeat = kNoRepeat;
  if (!names_distinct) {
    std::vector<std::string_view> names;
    names.reserve(count);
    for (size_t i = 0; i < count; ++i) names.push_back(row_at(i).name);
    repeat = first_repeat(names);
  }
  size_t text_bytes = 64;
  for (size_t i = 0; i < count; ++i) {
    const SafetensorsRow row = row_at(i);
    if (row.name == "__metadata__") throw Error("a tensor cannot be named \"__metadata__\" in safetensors");
    if (i == repeat) throw Error("tensor name " + pth::quoted(std::string(row.name)) + " appears twice");
    if (!safetensors_dtype_name(row.dtype))
      throw Error("tensor " + pth::quoted(std::string(row.name)) + ": safetensors cannot hold " +
                  std::string(dtype_name(row.dtype)));
    text_bytes += row.name.size() + 21 * row.shape->size() + 100;   // fields, offsets, at most 20 digits a number
  }
  JsonWriter header(-1, /*replace_invalid_utf8=*/false);
  header.reserve(text_bytes);
  header.begin_object();
  if (!metadata.empty()) {
    std::vector<std::string_view> keys;
    for (const auto& kv : metadata) keys.push_back(kv.first);
    header.key("__metadata__");
    header.begin_object();
    for (size_t i : json_object_entries(keys)) header.field(metadata[i].first, metadata[i].second);
    header.end_object();
  }
  uint64_t at = 0;
  std::string body;
  for (size_t i = 0; i < count; ++i) {
    const SafetensorsRow row = row_at(i);
    header.key(row.name);
    header.raw_value(entry_body(body, *safetensors_dtype_name(row.dtype), *row.shape, at, at + row.nbytes));
    at += row.nbytes;
  }
  header.end_object();
  std::string text = header.take_text();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

SafetensorsOut::SafetensorsOut(const std::string& path, const std::string& header, bool replace) : out_(path, replace) {
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  out_.write(ByteView(len, 8));
  out_.write(ByteView(header.data(), header.size()));
}

void SafetensorsOut::append(ByteView run) {
  if (run.empty()) return;
  if (pending_.data && pending_.data + pending_.size == run.data) {
    pending_.size += run.size;
  } else {
    flush();
    pending_ = run;
  }
}

void SafetensorsOut::write_now(ByteView run) {
  flush();
  out_.write(run);
}

void SafetensorsOut::flush() {
  if (!pending_.empty()) out_.write(pending_);
  pending_ = ByteView();
}

void SafetensorsOut::commit() {
  flush();
  out_.commit();
}

}  // namespace detail

std::string safetensors_header(const std::vector<NamedTensor>& tensors, const StringPairs& metadata) {
  return detail::safetensors_header_text(
      tensors.size(),
      [&](size_t i) {
        const Tensor& t = *tensors[i].tensor;
        return detail::SafetensorsRow{tensors[i].name, t.dtype, &t.shape, t.nbytes()};
      },
      metadata, /*names_distinct=*/false);
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, const StringPairs& metadata,
                       bool replace) {
  for (const NamedTensor& nt : tensors) {
    if (!nt.tensor || !nt.tensor->storage || !nt.tensor->storage->data)
      throw Error("tensor " + pth::quoted(nt.name) + " has no data to write");
  }
  detail::SafetensorsOut out(path, safetensors_header(tensors, metadata), replace);
  for (const NamedTensor& nt : tensors) {
    const Tensor& t = *nt.tensor;
    if (t.numel() == 0) continue;
    if (t.is_contiguous()) {
      const ByteView storage = t.storage->data->bytes();
      const uint64_t begin = uint64_t(t.storage_offset) * dtype_size(t.dtype);
      if (begin > storage.size || t.nbytes() > storage.size - begin)
        throw FormatError("tensor " + pth::quoted(nt.name) + " lies outside its storage data");
      out.append(storage.sub(size_t(begin), size_t(t.nbytes())));
    } else {
      for_each_run(t, [&](ByteView run) { out.write_now(run); });
    }
  }
  out.commit();
}

}  // namespace pth
