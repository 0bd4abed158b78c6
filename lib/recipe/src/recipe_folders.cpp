// Recipe names as relative paths, and files found only inside the recipe folders.
#include <algorithm>

#include "recipe_detail.hpp"
#include "recipe_folders.hpp"

namespace fs = std::filesystem;

namespace sg::recipe_detail {

std::string outside_reason(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name[0] == '/') return "is an absolute path";
  if (name.find('\0') != std::string::npos) return "has a NUL byte";
  for (const std::string& segment : split_path(name, '/')) {
    if (segment.empty()) return "has an empty segment";
    if (segment == "..") return "has a '..' segment";
    if (segment == ".") return "has a '.' segment";
  }
  return "";
}

RecipeFolders::RecipeFolders(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {
  for (const std::string& dir : dirs_) {
    std::error_code ec;
    fs::path real = fs::canonical(dir, ec);
    if (!ec) real_dirs_.push_back(std::move(real));
  }
}

std::string RecipeFolders::find(const std::string& relative) const {
  for (const std::string& dir : dirs_) {
    const fs::path path = fs::path(dir) / relative;
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status) || fs::is_directory(status)) continue;
    const fs::path real = fs::canonical(path, ec);
    if (ec) continue;  // gone since
    if (!inside(real))
      throw RecipeError("'" + path.string() + "' leads outside the recipe folders (to '" + real.string() + "')");
    return path.string();
  }
  return "";
}

std::string RecipeFolders::list() const {
  std::string out;
  for (std::size_t i = 0; i < dirs_.size(); ++i) out += (i ? ", " : "") + dirs_[i];
  return out;
}

bool RecipeFolders::inside(const fs::path& real) const {
  return std::any_of(real_dirs_.begin(), real_dirs_.end(), [&](const fs::path& dir) {
    return std::mismatch(dir.begin(), dir.end(), real.begin(), real.end()).first == dir.end();
  });
}

}  // namespace sg::recipe_detail
