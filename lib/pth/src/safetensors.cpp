#include "pth/safetensors.hpp"

#include "internal/first_repeat.hpp"
#include "internal/safetensors_header.hpp"
#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "pth/json_writer.hpp"
#include "pth/message.hpp"
#include "pth/tensor_data.hpp"

namespace pth {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;   // the reference implementation's limit

// The tensors of one file in three arrays: three allocations in all, not three for each
// of a million tensors. Each pointer the dict hands out shares ownership of the whole.
struct TensorArrays {
  std::shared_ptr<const void> owner;   // the bytes the storages view
  std::vector<MemoryStorageData> data;
  std::vector<Storage> storages;
  std::vector<Tensor> tensors;
};

}  // namespace

bool looks_like_safetensors(ByteView head, uint64_t file_size) {
  if (head.size < 9 || file_size < 10) return false;
  const uint64_t n = load_le64(head.data);
  return n >= 2 && n <= file_size - 8 && head.data[8] == '{';
}

SafetensorsFile parse_safetensors(ByteView bytes, std::shared_ptr<const void> owner) {
  if (bytes.size < 8)
    throw FormatError("file too short for a safetensors header (" + std::to_string(bytes.size) + " bytes)");
  const uint64_t n = load_le64(bytes.data);
  if (n > kMaxHeader && n <= bytes.size - 8)
    throw FormatError("safetensors header length " + std::to_string(n) + " is over the 100 MB limit");
  if (n > bytes.size - 8)
    throw FormatError("safetensors header length " + std::to_string(n) + " runs past the end of the file (" +
                      std::to_string(bytes.size) + " bytes)");
  const std::string_view text = bytes.sub(8, size_t(n)).str();
  if (text.empty() || text[0] != '{') throw FormatError("safetensors header does not start with '{'");

  const uint64_t buffer_size = bytes.size - 8 - n;
  detail::SafetensorsHeader header = detail::parse_safetensors_header(text, buffer_size);
  SafetensorsFile out;
  out.metadata = std::move(header.metadata);
  const ByteView buffer = bytes.sub(8 + size_t(n), size_t(buffer_size));
  out.tensors = Value::dict(/*ordered=*/true);
  Dict& dict = out.tensors.as_dict();
  const size_t count = header.tensors.size();
  dict.items.reserve(count);
  auto arrays = std::make_shared<TensorArrays>();
  arrays->owner = std::move(owner);
  arrays->data.reserve(count);
  arrays->storages.resize(count);
  arrays->tensors.resize(count);
  for (size_t i = 0; i < count; ++i) {
    detail::SafetensorsEntry& e = header.tensors[i];
    Value key = Value::string(e.name);
    arrays->data.emplace_back(buffer.sub(size_t(e.begin), size_t(e.end - e.begin)), nullptr);
    Storage& storage = arrays->storages[i];
    storage.dtype = e.dtype;
    storage.numel = int64_t((e.end - e.begin) / dtype_size(e.dtype));
    storage.key = std::move(e.name);
    storage.data = std::shared_ptr<const StorageData>(arrays, &arrays->data[i]);
    Tensor& t = arrays->tensors[i];
    t.dtype = e.dtype;
    t.stride = Tensor::contiguous_strides(e.shape);
    t.shape = std::move(e.shape);
    t.storage = std::shared_ptr<Storage>(arrays, &storage);
    dict.items.emplace_back(std::move(key), Value::tensor(std::shared_ptr<Tensor>(arrays, &t)));
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  SafetensorsFile out = parse_safetensors(file->view(), file);
  out.path = path;
  out.file = std::move(file);
  return out;
}

std::string safetensors_header(const std::vector<NamedTensor>& tensors, const StringPairs& metadata) {
  std::vector<std::string_view> names;
  names.reserve(tensors.size());
  for (const NamedTensor& nt : tensors) names.push_back(nt.name);
  const size_t repeat = detail::first_repeat(names);
  size_t text_bytes = 64;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const NamedTensor& nt = tensors[i];
    if (nt.name == "__metadata__") throw Error("a tensor cannot be named \"__metadata__\" in safetensors");
    if (i == repeat) throw Error("tensor name " + pth::quoted(nt.name) + " appears twice");
    if (!safetensors_dtype_name(nt.tensor->dtype))
      throw Error("tensor " + pth::quoted(nt.name) + ": safetensors cannot hold " + std::string(dtype_name(nt.tensor->dtype)));
    text_bytes += nt.name.size() + 21 * nt.tensor->shape.size() + 100;   // fields, offsets, at most 20 digits a number
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
  for (const NamedTensor& nt : tensors) {
    const Tensor& t = *nt.tensor;
    const uint64_t size = t.nbytes();
    header.key(nt.name);
    header.begin_object();
    header.field("dtype", *safetensors_dtype_name(t.dtype));
    header.field("shape", t.shape);
    header.key("data_offsets");
    header.begin_array();
    header.value(at);
    header.value(at + size);
    header.end_array();
    header.end_object();
    at += size;
  }
  header.end_object();
  std::string text = header.take_text();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, const StringPairs& metadata,
                       bool replace) {
  for (const NamedTensor& nt : tensors) {
    if (!nt.tensor || !nt.tensor->storage || !nt.tensor->storage->data)
      throw Error("tensor " + pth::quoted(nt.name) + " has no data to write");
  }
  const std::string header = safetensors_header(tensors, metadata);
  AtomicFile out(path, replace);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  out.write(ByteView(len, 8));
  out.write(ByteView(header.data(), header.size()));
  // Contiguous tensors that lie back to back in memory (those of a file read in) go out
  // in one write: a million small tensors are not a million system calls.
  ByteView pending;
  auto flush = [&] {
    if (!pending.empty()) out.write(pending);
    pending = ByteView();
  };
  for (const NamedTensor& nt : tensors) {
    const Tensor& t = *nt.tensor;
    if (t.numel() == 0) continue;
    if (t.is_contiguous()) {
      const ByteView storage = t.storage->data->bytes();
      const uint64_t begin = uint64_t(t.storage_offset) * dtype_size(t.dtype);
      if (begin > storage.size || t.nbytes() > storage.size - begin)
        throw FormatError("tensor " + pth::quoted(nt.name) + " lies outside its storage data");
      const ByteView run = storage.sub(size_t(begin), size_t(t.nbytes()));
      if (pending.data && pending.data + pending.size == run.data) {
        pending.size += run.size;
      } else {
        flush();
        pending = run;
      }
    } else {
      flush();
      for_each_run(t, [&](ByteView run) { out.write(run); });   // runs valid only during the call
    }
  }
  flush();
  out.commit();
}

}  // namespace pth
