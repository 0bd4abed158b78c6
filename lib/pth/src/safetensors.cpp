#include "pth/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "pth/json_writer.hpp"
#include "pth/key_matching.hpp"
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

struct Entry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const Json& info) {
  // Messages name the tensor; they are made only when something is wrong.
  auto fail = [&](const std::string& why) -> FormatError { return FormatError("tensor " + pth::quoted(name) + ": " + why); };
  auto offset = [&](const Json& j, const char* what) {
    if (!j.is_number_unsigned()) throw fail(std::string(what) + " is not a non-negative integer");
    return j.get<uint64_t>();
  };
  if (!info.is_object()) throw fail("header entry is not an object");
  auto field = [&](const char* key) -> const Json& {
    auto it = info.find(key);
    if (it == info.end()) throw fail(std::string("header entry has no \"") + key + "\"");
    return *it;
  };
  const Json& dtype = field("dtype");
  if (!dtype.is_string()) throw fail("\"dtype\" is not a string");
  const std::string& dname = dtype.get_ref<const std::string&>();
  std::optional<DType> type;
  bool known = false;
  for (const DTypeName& d : kDTypes)
    if (dname == d.name) known = true, type = d.dtype;
  if (!known) throw fail("unknown dtype " + pth::quoted(dname));
  if (!type) throw fail("dtype " + pth::quoted(dname) + " is not supported");

  const Json& shape = field("shape");
  if (!shape.is_array()) throw fail("\"shape\" is not a list");
  if (shape.size() > 64) throw fail("shape has " + std::to_string(shape.size()) + " dimensions");
  Entry e{name, *type, {}, 0, 0};
  e.shape.reserve(shape.size());
  uint64_t numel = 1;
  bool overflow = false;
  for (const Json& d : shape) {
    const uint64_t n = offset(d, "a shape dimension");
    if (n > uint64_t(std::numeric_limits<int64_t>::max())) throw fail("shape dimension too large");
    e.shape.push_back(int64_t(n));
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / n) overflow = true;
    numel *= n;
  }
  const Json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) throw fail("\"data_offsets\" is not a [begin, end] pair");
  e.begin = offset(offsets[0], "data_offsets begin");
  e.end = offset(offsets[1], "data_offsets end");
  if (e.begin > e.end) throw fail("data_offsets " + range_text(e.begin, e.end) + " are out of order");
  const uint64_t size = dtype_size(e.dtype);
  if (overflow || (numel && numel > std::numeric_limits<uint64_t>::max() / size) || numel * size != e.end - e.begin)
    throw fail(std::to_string(e.end - e.begin) + " bytes of data, but shape " + shape_text(e.shape) + " of " + dname +
               " needs " + (overflow ? std::string("more than 2^64") : std::to_string(numel * size)));
  return e;
}

// The header's top-level entries, one at a time: nlohmann's SAX events build each entry's
// value as a small tree, handed to `take(name, value)` once complete, so a header of a
// million tensors is never one tree (whose objects find names by linear search).
template <class Take>
class HeaderEntries {
 public:
  explicit HeaderEntries(Take& take) : take_(take) {}

  bool null() { return scalar(nullptr); }
  bool boolean(bool b) { return scalar(b); }
  bool number_integer(Json::number_integer_t n) { return scalar(n); }
  bool number_unsigned(Json::number_unsigned_t n) { return scalar(n); }
  bool number_float(Json::number_float_t d, const std::string&) { return scalar(d); }
  bool string(std::string& text) { return scalar(std::move(text)); }
  bool binary(Json::binary_t& b) { return scalar(Json::binary(std::move(b))); }
  bool start_object(size_t) { return open(Json::object()); }
  bool start_array(size_t) { return open(Json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& name) {
    if (open_.size() == 1) {
      name_ = std::move(name);   // a top-level name: its value is the next entry
    } else {
      slot_ = &(*open_.back())[name];   // a repeated name takes the last value, as a tree would
    }
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = e.what();
    return false;
  }

  const std::string& error() const { return error_; }
  bool top_is_object() const { return top_is_object_; }

 private:
  // Where the next value goes: the entry itself at depth 1, else inside the open container.
  Json* place(Json v) {
    if (open_.size() == 1) {
      entry_ = std::move(v);
      return &entry_;
    }
    Json& parent = *open_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool scalar(Json v) {
    if (open_.empty()) return true;   // a top-level scalar: not an object
    place(std::move(v));
    if (open_.size() == 1) take_(name_, entry_);
    return true;
  }
  bool open(Json container) {
    if (open_.empty()) {
      top_is_object_ = container.is_object();
      open_.push_back(nullptr);   // the top-level object itself is never built
      return true;
    }
    open_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    open_.pop_back();
    if (open_.size() == 1) take_(name_, entry_);
    return true;
  }

  Take& take_;
  std::vector<Json*> open_;   // containers being filled; [0] stands for the top level
  std::string name_;
  Json entry_;
  Json* slot_ = nullptr;
  std::string error_;
  bool top_is_object_ = false;
};

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

  // Entries are checked in header order; the first problem is reported once the whole
  // header has parsed (a JSON error comes first, then a repeated name).
  SafetensorsFile out;
  std::vector<Entry> entries;
  std::unordered_set<std::string> seen;
  std::string duplicate, problem;
  auto take = [&](const std::string& name, const Json& value) {
    if (!seen.insert(name).second && duplicate.empty()) duplicate = name;
    if (!problem.empty()) return;
    try {
      if (name == "__metadata__") {
        if (!value.is_object()) throw FormatError("safetensors \"__metadata__\" is not an object");
        for (auto m = value.begin(); m != value.end(); ++m) {
          if (!m.value().is_string())
            throw FormatError("safetensors \"__metadata__\" value of " + pth::quoted(m.key()) + " is not a string");
          out.metadata.emplace_back(m.key(), m.value().get<std::string>());
        }
      } else {
        entries.push_back(parse_entry(name, value));
      }
    } catch (const FormatError& e) {
      problem = e.what();
    }
  };
  HeaderEntries<decltype(take)> reader(take);
  if (!Json::sax_parse(text, &reader)) {
    std::string why = reader.error();
    const size_t at = why.find("] ");   // drop "[json.exception.parse_error.101] "
    if (at != std::string::npos) why = why.substr(at + 2);
    throw FormatError("safetensors header is not valid JSON: " + printable(why, 160));
  }
  if (!reader.top_is_object()) throw FormatError("safetensors header is not a JSON object");
  if (!duplicate.empty()) throw FormatError("safetensors header names " + pth::quoted(duplicate) + " twice");
  if (!problem.empty()) throw FormatError(problem);

  // The data must tile the buffer exactly: in offset order, each tensor starts where the
  // previous one ended, and the last one ends at the end of the file.
  const uint64_t buffer_size = bytes.size - 8 - n;
  auto by_offset = [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; };
  if (!std::is_sorted(entries.begin(), entries.end(), by_offset))   // writers put them in order
    std::stable_sort(entries.begin(), entries.end(), by_offset);
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
  for (Entry& e : entries) {
    Value key = Value::string(e.name);
    auto storage = std::make_shared<Storage>();
    storage->dtype = e.dtype;
    storage->numel = int64_t((e.end - e.begin) / dtype_size(e.dtype));
    storage->key = std::move(e.name);
    storage->data = std::make_shared<MemoryStorageData>(buffer.sub(size_t(e.begin), size_t(e.end - e.begin)), owner);
    auto t = std::make_shared<Tensor>();
    t->dtype = e.dtype;
    t->stride = Tensor::contiguous_strides(e.shape);
    t->shape = std::move(e.shape);
    t->storage = std::move(storage);
    dict.items.emplace_back(std::move(key), Value::tensor(std::move(t)));
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
  std::unordered_set<std::string_view> names;
  for (const NamedTensor& nt : tensors) {
    if (nt.name == "__metadata__") throw Error("a tensor cannot be named \"__metadata__\" in safetensors");
    if (!names.insert(nt.name).second) throw Error("tensor name " + pth::quoted(nt.name) + " appears twice");
    if (!safetensors_dtype_name(nt.tensor->dtype))
      throw Error("tensor " + pth::quoted(nt.name) + ": safetensors cannot hold " + std::string(dtype_name(nt.tensor->dtype)));
  }
  JsonWriter header(-1, /*replace_invalid_utf8=*/false);
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
  std::string text = header.text();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors, const StringPairs& metadata) {
  for (const NamedTensor& nt : tensors) {
    if (!nt.tensor || !nt.tensor->storage || !nt.tensor->storage->data)
      throw Error("tensor " + pth::quoted(nt.name) + " has no data to write");
  }
  const std::string header = safetensors_header(tensors, metadata);
  AtomicFile out(path);
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
