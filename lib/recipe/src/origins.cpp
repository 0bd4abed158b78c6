// Files of the values evaluated after composition.
#include "origins.hpp"

namespace sg::recipe_detail {
namespace {

// Longer paths are not recorded: a hostile recipe's deep, long keys would cost their length
// for every value below them. Real recipes' paths are under a hundred bytes.
constexpr std::size_t kMaxRecordedPath = 1024;

void walk(std::string& path, const YAML::Node& node, const std::string& file, std::map<std::string, std::string>& out) {
  const std::size_t length = path.size();
  auto below = [&](const std::string& key) {
    if (length) path += '.';
    path += key;
  };
  if (node.IsScalar()) {
    if (node.Scalar().find("${") != std::string::npos && length <= kMaxRecordedPath) out[path] = file;
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;
      if (kv.first.Scalar() == "_target_" && length <= kMaxRecordedPath) out[path] = file;
      below(kv.first.Scalar());
      walk(path, kv.second, file, out);
      path.resize(length);
    }
  } else if (node.IsSequence()) {
    std::size_t i = 0;
    for (const auto& item : node) {
      below(std::to_string(i++));
      walk(path, item, file, out);
      path.resize(length);
    }
  }
}

}  // namespace

void Origins::record(const std::string& prefix, const YAML::Node& node, const std::string& file) {
  std::string path = prefix;
  walk(path, node, file, files_);
}

void Origins::merge(const std::string& prefix, const Origins& placed) {
  for (const auto& [path, file] : placed.files_)
    files_[prefix.empty() ? path : path.empty() ? prefix : prefix + "." + path] = file;
}

void Origins::forget(const std::string& path) {
  for (auto it = files_.lower_bound(path); it != files_.end() && it->first.compare(0, path.size(), path) == 0;) {
    if (it->first.size() == path.size() || it->first[path.size()] == '.')
      it = files_.erase(it);
    else
      ++it;
  }
}

std::string Origins::written_in(const std::string& path) const {
  const auto found = files_.find(path);
  return found == files_.end() || found->second == primary_ ? "" : " (written in " + found->second + ")";
}

}  // namespace sg::recipe_detail
