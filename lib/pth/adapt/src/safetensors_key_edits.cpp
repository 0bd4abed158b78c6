#include "safetensors_key_edits.hpp"

#include <algorithm>
#include <memory>

#include "data_error.hpp"
#include "internal/safetensors_header.hpp"
#include "internal/safetensors_writer.hpp"
#include "pth/mapped_file.hpp"
#include "pth/safetensors.hpp"

namespace pth::adapt_detail {
namespace {

struct Key {
  std::string name;
  std::string_view original;
  const detail::SafetensorsEntry* entry;
};

}  // namespace

bool reads_as_safetensors(const std::string& path, ByteView file) {
  return adapt_format_for_path(path) == AdaptFormat::Safetensors ||
         looks_like_safetensors(file.sub(0, std::min<size_t>(file.size, 16)), file.size);
}

bool adapt_safetensors_keys(const AdaptOptions& o, const Edits& edits, AdaptResult& r) {
  std::shared_ptr<const MappedFile> file;   // kept while the data are copied from it
  detail::SafetensorsLayout layout;
  try {
    file = MappedFile::open(o.input);
    if (!reads_as_safetensors(o.input, file->view())) return false;
    layout = detail::read_safetensors_layout(file->view());
  } catch (const std::exception& e) {
    throw AdaptError(o.input, e.what());
  }
  std::vector<Key> keys;
  keys.reserve(layout.header.tensors.size());
  for (const detail::SafetensorsEntry& e : layout.header.tensors) {
    if (e.name == "net") return false;
    keys.push_back({e.name, e.name, &e});
  }
  apply_edits(keys, edits, o.input, "");

  for (const Key& k : keys) r.tensor_bytes += k.entry->end - k.entry->begin;
  r.tensors = keys.size();
  auto row_at = [&](size_t i) {
    const detail::SafetensorsEntry& e = *keys[i].entry;
    return detail::SafetensorsRow{keys[i].name, e.dtype, &e.shape, e.end - e.begin};
  };
  try {
    // The names are distinct: as read, or checked after edits that can repeat them.
    detail::SafetensorsOut out(o.output,
                               detail::safetensors_header_text(keys.size(), row_at, layout.header.metadata, /*names_distinct=*/true),
                               o.force);
    for (const Key& k : keys) out.append(layout.buffer.sub(size_t(k.entry->begin), size_t(k.entry->end - k.entry->begin)));
    out.commit();
  } catch (const std::exception& e) {
    throw data_error(o.output, "", e);
  }
  r.written = true;
  r.ok = true;
  return true;
}

}  // namespace pth::adapt_detail
