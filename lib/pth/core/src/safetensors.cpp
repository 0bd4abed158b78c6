#include "pth/safetensors.hpp"

#include "internal/safetensors_header.hpp"
#include "pth/error.hpp"
#include "pth/tensor_data.hpp"

namespace pth {
namespace {

constexpr uint64_t kMaxHeader = 100'000'000;   // the reference implementation's limit

// The tensors of one file in three arrays: three allocations in all, not three for each
// of a million tensors. Each layer's pointers own the layer below (dict -> tensors ->
// storages -> data -> the bytes), never their own array: no cycle keeps them alive.
struct StorageDataArray {
  std::shared_ptr<const void> owner;   // the bytes the storages view
  std::vector<MemoryStorageData> data;
};

}  // namespace

bool looks_like_safetensors(ByteView head, uint64_t file_size) {
  if (head.size < 9 || file_size < 10) return false;
  const uint64_t n = load_le64(head.data);
  return n >= 2 && n <= file_size - 8 && head.data[8] == '{';
}

namespace detail {

SafetensorsLayout read_safetensors_layout(ByteView bytes) {
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
  return {parse_safetensors_header(text, buffer_size), bytes.sub(8 + size_t(n), size_t(buffer_size))};
}

}  // namespace detail

SafetensorsFile parse_safetensors(ByteView bytes, std::shared_ptr<const void> owner) {
  auto [header, buffer] = detail::read_safetensors_layout(bytes);
  SafetensorsFile out;
  out.metadata = std::move(header.metadata);
  out.tensors = Value::dict(/*ordered=*/true);
  Dict& dict = out.tensors.as_dict();
  const size_t count = header.tensors.size();
  dict.items.reserve(count);
  auto data = std::make_shared<StorageDataArray>();
  data->owner = std::move(owner);
  data->data.reserve(count);
  auto storages = std::make_shared<std::vector<Storage>>(count);
  auto tensors = std::make_shared<std::vector<Tensor>>(count);
  for (size_t i = 0; i < count; ++i) {
    detail::SafetensorsEntry& e = header.tensors[i];
    Value key = Value::string(e.name);
    data->data.emplace_back(buffer.sub(size_t(e.begin), size_t(e.end - e.begin)), nullptr);
    Storage& storage = (*storages)[i];
    storage.dtype = e.dtype;
    storage.numel = int64_t((e.end - e.begin) / dtype_size(e.dtype));
    storage.key = std::move(e.name);
    storage.data = std::shared_ptr<const StorageData>(data, &data->data[i]);
    Tensor& t = (*tensors)[i];
    t.dtype = e.dtype;
    t.stride = Tensor::contiguous_strides(e.shape);
    t.shape = std::move(e.shape);
    t.storage = std::shared_ptr<Storage>(storages, &storage);
    dict.items.emplace_back(std::move(key), Value::tensor(std::shared_ptr<Tensor>(tensors, &t)));
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

}  // namespace pth
