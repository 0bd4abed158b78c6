#pragma once
// Where recipe files may come from: the recipe folders and nothing outside them. Names
// written in recipes and on the command line (`defaults:` entries, --config-name,
// `group=option` overrides) are relative paths without `..`, `.` or empty segments, and a
// symbolic link inside a folder is followed only while it stays inside the folders.
#include <filesystem>
#include <string>
#include <vector>

namespace sg::recipe_detail {

// Why `name` is not a plain relative path inside the recipe folders ("is an absolute
// path", "has a '..' segment", ...), or "" when it is one.
std::string outside_reason(const std::string& name);

class RecipeFolders {
 public:
  explicit RecipeFolders(std::vector<std::string> dirs);

  // The path of `relative` in the first folder that has it as anything but a directory
  // (reading it decides whether it can be read: a FIFO is refused there, by name), or ""
  // when none has it. Throws RecipeError
  // "'<path>' leads outside the recipe folders (to '<real path>')" for a link out of them.
  std::string find(const std::string& relative) const;

  std::string list() const;  // "a, b", for messages

 private:
  bool inside(const std::filesystem::path& real) const;

  std::vector<std::string> dirs_;
  std::vector<std::filesystem::path> real_dirs_;  // with every link resolved
};

}  // namespace sg::recipe_detail
