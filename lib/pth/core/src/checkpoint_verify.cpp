#include <set>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"

namespace pth {

std::vector<std::string> verify_checkpoint(const Checkpoint& ckpt) {
  std::vector<std::string> problems;
  if (!ckpt.zip) return problems;  // legacy files carry no checksums; reading checked the rest

  // Records torch writes besides the storages.
  const std::set<std::string> known = {"data.pkl", "version", ".data/version", "byteorder", ".data/serialization_id",
                                       ".format_version", ".storage_alignment"};
  std::set<std::string> used;
  for (const auto& s : ckpt.storages) used.insert("data/" + s->key);

  const std::string prefix = ckpt.root_name + "/";
  for (const ZipEntry& e : ckpt.zip->entries()) {
    try {
      if (!ckpt.zip->crc_matches(e)) problems.push_back("CRC mismatch in record " + quoted(e.name));
    } catch (const Error& err) {
      problems.push_back("record " + quoted(e.name) + ": " + err.what());
    }
    const std::string record = e.name.substr(prefix.size());
    if (!known.count(record) && !used.count(record)) problems.push_back("unreferenced record " + quoted(e.name));
  }
  return problems;
}

}  // namespace pth
