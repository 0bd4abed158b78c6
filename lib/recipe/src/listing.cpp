#include "recipe/listing.hpp"

#include <filesystem>
#include <set>

#include "recipe_detail.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

void add_leaves(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
  if (node.IsMap() && node.size() > 0) {
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      add_leaves(kv.second, path.empty() ? key : path + "." + key, out);
    }
    return;
  }
  out.push_back(path + "=" + recipe_detail::emit_yaml_flow(node));
}

}  // namespace

std::vector<std::string> recipe_names(const std::vector<std::string>& dirs) {
  std::set<std::string> names;
  for (const std::string& dir : dirs) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& path = it->path();
      if (path.extension() == ".yaml" && it->is_regular_file(ec)) names.insert(path.stem().string());
    }
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> recipe_overrides(const Recipe& recipe) {
  std::vector<std::string> out;
  add_leaves(recipe.root(), "", out);
  return out;
}

}  // namespace sg
