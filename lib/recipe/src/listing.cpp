#include "recipe/listing.hpp"

#include <filesystem>
#include <set>

#include "recipe_detail.hpp"

namespace fs = std::filesystem;

namespace sg {

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
  recipe_detail::for_each_leaf(recipe.root(), [&](const std::string& path, const YAML::Node& value) {
    out.push_back(path + "=" + recipe_detail::emit_yaml_flow(value));
  });
  return out;
}

}  // namespace sg
