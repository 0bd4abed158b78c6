#include "pth/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/tensor_data.hpp"

namespace pth {
namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxHeader = 100'000'000;   // the reference implementation's limit

struct DTypeName {
  const char* name;
  std::optional<DType> dtype;   // nullopt: a safetensors dtype we cannot hold
};

constexpr DTypeName kDTypes[] = {
    {"F64", DType::Float64}, {"F32", DType::Float32}, {"F16", DType::Float16}, {"BF16", DType::BFloat16},
    {"I64", DType::Int64},   {"I32", DType::Int32},   {"I16", DType::Int16},   {"I8", DType::Int8},
    {"U8", DType::UInt8},    {"BOOL", DType::Bool},   {"C64", DType::Complex64},
    {"U16", std::nullopt},   {"U32", std::nullopt},   {"U64", std::nullopt},   {"F8_E4M3", std::nullopt},
    {"F8_E5M2", std::nullopt}, {"F8_E8M0", std::nullopt}, {"F6_E2M3", std::nullopt}, {"F6_E3M2", std::nullopt},
    {"F4", std::nullopt},
};

std::string range_text(uint64_t b, uint64_t e) { return "[" + std::to_string(b) + ", " + std::to_string(e) + ")"; }

uint64_t as_offset(const Json& j, const std::string& what) {
  if (!j.is_number_unsigned()) throw FormatError(what + " is not a non-negative integer");
  return j.get<uint64_t>();
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
  size_t order;   // position in the header
};

Entry parse_entry(const std::string& name, const Json& info, size_t order) {
  const std::string what = "tensor " + pth::quoted(name);
  if (!info.is_object()) throw FormatError(what + ": header entry is not an object");
  auto field = [&](const char* key) -> const Json& {
    auto it = info.find(key);
    if (it == info.end()) throw FormatError(what + ": header entry has no \"" + key + "\"");
    return *it;
  };
  const Json& dtype = field("dtype");
  if (!dtype.is_string()) throw FormatError(what + ": \"dtype\" is not a string");
  const std::string dname = dtype.get<std::string>();
  std::optional<DType> type;
  bool known = false;
  for (const DTypeName& d : kDTypes)
    if (dname == d.name) known = true, type = d.dtype;
  if (!known) throw FormatError(what + ": unknown dtype " + pth::quoted(dname));
  if (!type) throw FormatError(what + ": dtype " + pth::quoted(dname) + " is not supported");

  const Json& shape = field("shape");
  if (!shape.is_array()) throw FormatError(what + ": \"shape\" is not a list");
  if (shape.size() > 64) throw FormatError(what + ": shape has " + std::to_string(shape.size()) + " dimensions");
  Entry e{name, *type, {}, 0, 0, order};
  uint64_t numel = 1;
  bool overflow = false;
  for (const Json& d : shape) {
    const uint64_t n = as_offset(d, what + ": a shape dimension");
    if (n > uint64_t(std::numeric_limits<int64_t>::max())) throw FormatError(what + ": shape dimension too large");
    e.shape.push_back(int64_t(n));
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
    numel *= n;
  }
  const Json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) throw FormatError(what + ": \"data_offsets\" is not a [begin, end] pair");
  e.begin = as_offset(offsets[0], what + ": data_offsets begin");
  e.end = as_offset(offsets[1], what + ": data_offsets end");
  if (e.begin > e.end) throw FormatError(what + ": data_offsets " + range_text(e.begin, e.end) + " are out of order");
  const uint64_t size = dtype_size(e.dtype);
  if (overflow || (numel && numel > std::numeric_limits<uint64_t>::max() / size) || numel * size != e.end - e.begin)
    throw FormatError(what + ": " + std::to_string(e.end - e.begin) + " bytes of data, but shape " + [&] {
      std::string s = "[";
      for (size_t i = 0; i < e.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(e.shape[i]);
      return s + "]";
    }() + " of " + dname + " needs " + (overflow ? std::string("more than 2^64") : std::to_string(numel * size)));
  return e;
}

}  // namespace

std::optional<std::string_view> safetensors_dtype_name(DType t) {
  for (const DTypeName& d : kDTypes)
    if (d.dtype == t) return std::string_view(d.name);
  return std::nullopt;
}

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  for (const DTypeName& d : kDTypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

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

  // Parse, keeping header order, and catch duplicate names (the JSON parser would keep
  // the last one silently).
  std::unordered_set<std::string> seen;
  std::string duplicate;
  Json header;
  try {
    header = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth == 1 && event == Json::parse_event_t::key && parsed.is_string()) {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
      }
      return true;
    });
  } catch (const Json::exception& e) {
    std::string why = e.what();
    const size_t at = why.find("] ");   // drop "[json.exception.parse_error.101] "
    if (at != std::string::npos) why = why.substr(at + 2);
    throw FormatError("safetensors header is not valid JSON: " + printable(why, 160));
  }
  if (!header.is_object()) throw FormatError("safetensors header is not a JSON object");
  if (!duplicate.empty()) throw FormatError("safetensors header names " + pth::quoted(duplicate) + " twice");

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) throw FormatError("safetensors \"__metadata__\" is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          throw FormatError("safetensors \"__metadata__\" value of " + pth::quoted(m.key()) + " is not a string");
        out.metadata.emplace_back(m.key(), m.value().get<std::string>());
      }
      continue;
    }
    entries.push_back(parse_entry(it.key(), it.value(), entries.size()));
  }

  // The data must tile the buffer exactly: in offset order, each tensor starts where the
  // previous one ended, and the last one ends at the end of the file.
  const uint64_t buffer_size = bytes.size - 8 - n;
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.end > buffer_size)
      throw FormatError("tensor " + pth::quoted(e.name) + ": data_offsets " + range_text(e.begin, e.end) +
                        " lie outside the data buffer (" + std::to_string(buffer_size) + " bytes)");
    if (e.begin < at)
      throw FormatError("tensors " + pth::quoted(previous->name) + " " + range_text(previous->begin, previous->end) + " and " +
                        pth::quoted(e.name) + " " + range_text(e.begin, e.end) + " overlap");
    if (e.begin > at)
      throw FormatError("gap of " + std::to_string(e.begin - at) + " bytes in the data buffer before tensor " + pth::quoted(e.name));
    at = e.end;
    previous = &e;
  }
  if (at != buffer_size)
    throw FormatError("data buffer has " + std::to_string(buffer_size - at) + " bytes after the last tensor");

  const ByteView buffer = bytes.sub(8 + size_t(n), size_t(buffer_size));
  out.tensors = Value::dict(/*ordered=*/true);
  Dict& dict = out.tensors.as_dict();
  dict.items.reserve(entries.size());
  for (const Entry& e : entries) {
    auto storage = std::make_shared<Storage>();
    storage->dtype = e.dtype;
    storage->numel = int64_t((e.end - e.begin) / dtype_size(e.dtype));
    storage->key = e.name;
    storage->data = std::make_shared<MemoryStorageData>(buffer.sub(size_t(e.begin), size_t(e.end - e.begin)), owner);
    auto t = std::make_shared<Tensor>();
    t->dtype = e.dtype;
    t->shape = e.shape;
    t->stride = Tensor::contiguous_strides(e.shape);
    t->storage = std::move(storage);
    dict.items.emplace_back(Value::string(e.name), Value::tensor(std::move(t)));
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
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t at = 0;
  for (const NamedTensor& nt : tensors) {
    if (nt.name == "__metadata__") throw Error("a tensor cannot be named \"__metadata__\" in safetensors");
    if (header.contains(nt.name)) throw Error("tensor name " + pth::quoted(nt.name) + " appears twice");
    const Tensor& t = *nt.tensor;
    const auto dname = safetensors_dtype_name(t.dtype);
    if (!dname) throw Error("tensor " + pth::quoted(nt.name) + ": safetensors cannot hold " + std::string(dtype_name(t.dtype)));
    const uint64_t size = t.nbytes();
    header[nt.name] = {{"dtype", std::string(*dname)}, {"shape", t.shape}, {"data_offsets", {at, at + size}}};
    at += size;
  }
  std::string text = header.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::strict);
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
  for (const NamedTensor& nt : tensors) {
    const Tensor& t = *nt.tensor;
    if (t.numel() == 0) continue;
    if (t.is_contiguous()) {
      const ByteView storage = t.storage->data->bytes();
      const uint64_t begin = uint64_t(t.storage_offset) * dtype_size(t.dtype);
      if (begin > storage.size || t.nbytes() > storage.size - begin)
        throw FormatError("tensor " + pth::quoted(nt.name) + " lies outside its storage data");
      out.write(storage.sub(size_t(begin), size_t(t.nbytes())));
    } else {
      for_each_run(t, [&](ByteView run) { out.write(run); });
    }
  }
  out.commit();
}

}  // namespace pth
