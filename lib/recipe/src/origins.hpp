#pragma once
// Which recipe file wrote a value that is evaluated after composition (a `${}` text, a
// `_target_` mapping), so that an error about it can name that file. Recorded in the order
// composition merges the files: the file merged last wins, as its value does.
#include <map>
#include <string>
#include <utility>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

class Origins {
 public:
  Origins() = default;
  // Values written by `primary_file` are not named: a recipe's messages name it already.
  explicit Origins(std::string primary_file) : primary_(std::move(primary_file)) {}

  // Records `file` for each such value in `node`, `node` being placed at `prefix`.
  void record(const std::string& prefix, const YAML::Node& node, const std::string& file);
  void merge(const std::string& prefix, const Origins& placed);
  // Forgets `path` and the paths below it (an override has replaced the value).
  void forget(const std::string& path);
  // " (written in <file>)", or "" when no file (or the primary file) wrote the value at `path`.
  std::string written_in(const std::string& path) const;

 private:
  std::string primary_;
  std::map<std::string, std::string> files_;  // dotted path -> file
};

}  // namespace sg::recipe_detail
