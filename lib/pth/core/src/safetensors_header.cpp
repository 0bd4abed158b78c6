// The safetensors header: dtype names, and reading the JSON into checked entries, by the
// plain reader where the header has the usual form, else through nlohmann's SAX parser.
#include <algorithm>
#include <limits>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "internal/first_repeat.hpp"
#include "internal/safetensors_header.hpp"
#include "pth/error.hpp"
#include "pth/key_matching.hpp"
#include "pth/message.hpp"

namespace pth {
namespace {

using Json = nlohmann::ordered_json;
using detail::SafetensorsEntry;
using detail::SafetensorsHeader;

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

// --- checks of an entry's fields, shared by both readers, in the order they are read ---

// A refusal naming the tensor; made only when something is wrong.
struct Refusal {
  const std::string& name;
  FormatError operator()(const std::string& why) const { return FormatError("tensor " + pth::quoted(name) + ": " + why); }
};

DType entry_dtype(const Refusal& fail, std::string_view dname) {
  for (const DTypeName& d : kDTypes) {
    if (dname != d.name) continue;
    if (!d.dtype) throw fail("dtype " + pth::quoted(std::string(dname)) + " is not supported");
    return *d.dtype;
  }
  throw fail("unknown dtype " + pth::quoted(std::string(dname)));
}

void check_rank(const Refusal& fail, size_t dims) {
  if (dims > 64) throw fail("shape has " + std::to_string(dims) + " dimensions");
}

// Element count so far (overflow: past 2^64) and the dimensions read.
struct Extent {
  uint64_t numel = 1;
  bool overflow = false;
};

void add_dimension(const Refusal& fail, Extent& x, uint64_t n) {
  if (n > uint64_t(std::numeric_limits<int64_t>::max())) throw fail("shape dimension too large");
  if (n != 0 && x.numel > std::numeric_limits<uint64_t>::max() / n) x.overflow = true;
  x.numel *= n;
}

void check_offsets(const Refusal& fail, const SafetensorsEntry& e, const Extent& x, std::string_view dname) {
  if (e.begin > e.end) throw fail("data_offsets " + range_text(e.begin, e.end) + " are out of order");
  const uint64_t size = dtype_size(e.dtype);
  if (x.overflow || (x.numel && x.numel > std::numeric_limits<uint64_t>::max() / size) || x.numel * size != e.end - e.begin)
    throw fail(std::to_string(e.end - e.begin) + " bytes of data, but shape " + shape_text(e.shape) + " of " +
               std::string(dname) + " needs " + (x.overflow ? std::string("more than 2^64") : std::to_string(x.numel * size)));
}

// An entry of the plain form: its dtype set from `dname`, then its fields checked.
void check_plain_entry(SafetensorsEntry& e, std::string_view dname) {
  const Refusal fail{e.name};
  e.dtype = entry_dtype(fail, dname);
  check_rank(fail, e.shape.size());
  Extent x;
  for (int64_t n : e.shape) add_dimension(fail, x, uint64_t(n));
  check_offsets(fail, e, x, dname);
}

// An entry's value as a JSON tree: its fields' types checked as they are read.
SafetensorsEntry checked_entry(const std::string& name, const Json& info) {
  const Refusal fail{name};
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
  SafetensorsEntry e{name, entry_dtype(fail, dname), {}, 0, 0};
  const Json& shape = field("shape");
  if (!shape.is_array()) throw fail("\"shape\" is not a list");
  check_rank(fail, shape.size());
  Extent x;
  for (const Json& d : shape) {
    const uint64_t n = offset(d, "a shape dimension");
    add_dimension(fail, x, n);
    e.shape.push_back(int64_t(n));
  }
  const Json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) throw fail("\"data_offsets\" is not a [begin, end] pair");
  e.begin = offset(offsets[0], "data_offsets begin");
  e.end = offset(offsets[1], "data_offsets end");
  check_offsets(fail, e, x, dname);
  return e;
}

// --- the general reader -------------------------------------------------------------------

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

// Entries are checked in header order; the first problem is reported once the whole
// header has parsed (a JSON error comes first, then a repeated name).
SafetensorsHeader parse_any_header(std::string_view text) {
  SafetensorsHeader out;
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
        out.tensors.push_back(checked_entry(name, value));
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
  return out;
}

// The same answers for a header in the plain form (valid JSON, so only a repeated name or
// a bad entry can be wrong), or nullopt.
std::optional<SafetensorsHeader> parse_plain_header(std::string_view text) {
  SafetensorsHeader out;
  std::vector<std::string_view> dtypes;
  if (!detail::read_plain_header(text, out.tensors, dtypes, out.metadata)) return std::nullopt;
  std::vector<std::string_view> names;   // "__metadata__" comes once, and never as a tensor
  names.reserve(out.tensors.size());
  for (const SafetensorsEntry& e : out.tensors) names.push_back(e.name);
  const size_t repeat = detail::first_repeat(names);
  if (repeat != detail::kNoRepeat)
    throw FormatError("safetensors header names " + pth::quoted(out.tensors[repeat].name) + " twice");
  for (size_t i = 0; i < out.tensors.size(); ++i) check_plain_entry(out.tensors[i], dtypes[i]);
  return out;
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

namespace detail {

SafetensorsHeader parse_safetensors_header(std::string_view text, uint64_t buffer_size) {
  std::optional<SafetensorsHeader> plain = parse_plain_header(text);
  SafetensorsHeader header = plain ? std::move(*plain) : parse_any_header(text);

  // The data must tile the buffer exactly: in offset order, each tensor starts where the
  // previous one ended, and the last one ends at the end of the file.
  std::vector<SafetensorsEntry>& entries = header.tensors;
  auto by_offset = [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  };
  if (!std::is_sorted(entries.begin(), entries.end(), by_offset))   // writers put them in order
    std::stable_sort(entries.begin(), entries.end(), by_offset);
  uint64_t at = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& e : entries) {
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
  return header;
}

}  // namespace detail
}  // namespace pth
