#include "load.hpp"

#include "pth/adapt.hpp"
#include "pth/checkpoint.hpp"
#include "pth/mapped_file.hpp"
#include "safetensors_key_edits.hpp"

namespace pth::adapt_detail {

Loaded load_any(const std::string& path) {
  Loaded out;
  out.path = path;
  try {
    std::shared_ptr<const MappedFile> file = MappedFile::open(path);
    const ByteView v = file->view();
    if (reads_as_safetensors(path, v)) {
      auto st = std::make_shared<SafetensorsFile>(parse_safetensors(v, file));
      out.root = st->tensors;
      out.metadata = st->metadata;
      out.safetensors = true;
      out.keep = st;
      return out;
    }
    file.reset();
    auto ck = std::make_shared<Checkpoint>(read_checkpoint(path));
    out.root = ck->root;
    out.keep = ck;
  } catch (const AdaptError&) {
    throw;
  } catch (const std::exception& e) {
    throw AdaptError(path, e.what());
  }
  return out;
}

}  // namespace pth::adapt_detail
