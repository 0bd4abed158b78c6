#pragma once
// One item of a recipe's transform list, as the list readers (transform_list.cpp,
// albumentations_list.cpp) see it: its name, its parameters, typed reads that fail with
// the item's place, name and parameter in a RecipeError.
#include <array>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "image/resize.hpp"
#include "recipe/recipe.hpp"

namespace sg {

// One item: its name, its parameters, and where it is (for messages).
class TransformItem {
 public:
  TransformItem(std::string where, std::string name, YAML::Node params)
      : where_(std::move(where)), name_(std::move(name)), params_(std::move(params)) {}
  // A list entry: a name (`- ToTensor`) or a one-key mapping of a name to its parameters.
  static TransformItem read(const YAML::Node& entry, const std::string& where) {
    if (entry.IsScalar()) return TransformItem(where, entry.as<std::string>(), YAML::Node(YAML::NodeType::Map));
    if (!entry.IsMap() || entry.size() != 1)
      throw RecipeError(where + ": expected a transform name or a one-key mapping {Name: {parameters}}");
    const std::string name = entry.begin()->first.as<std::string>();
    YAML::Node params = entry.begin()->second;
    if (params.IsNull()) params = YAML::Node(YAML::NodeType::Map);
    if (!params.IsMap()) throw RecipeError(where + " " + name + ": expected a mapping of parameters");
    return TransformItem(where, name, params);
  }
  const std::string& name() const { return name_; }

  [[noreturn]] void fail(const std::string& param, const std::string& problem) const {
    throw RecipeError(where_ + " " + name_ + (param.empty() ? "" : "." + param) + ": " + problem);
  }
  // Refuses parameters the transform does not have.
  void only(const std::set<std::string>& known) const {
    for (const auto& entry : params_) {
      const std::string key = entry.first.as<std::string>();
      if (!known.count(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail(key, "not a parameter of " + name_ + (list.empty() ? " (it has none)" : " (it has " + list + ")"));
      }
    }
  }
  bool has(const std::string& key) const { return params_[key] && !params_[key].IsNull(); }
  YAML::Node node(const std::string& key) const { return params_[key]; }

  double number(const std::string& key, double fallback) const {
    if (!has(key)) return fallback;
    return number_of(node(key), key);
  }
  double number_of(const YAML::Node& n, const std::string& key) const {
    try {
      if (n.IsScalar()) {
        const double v = n.as<double>();
        if (std::isfinite(v)) return v;
      }
    } catch (const YAML::Exception&) {
    }
    fail(key, "expected a number");
  }
  int integer(const std::string& key, int fallback) const {
    const double v = number(key, fallback);
    if (v != std::floor(v) || std::abs(v) > 1 << 20) fail(key, "expected a whole number");
    return int(v);
  }
  bool flag(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    try {
      return node(key).as<bool>();
    } catch (const YAML::Exception&) {
      fail(key, "expected True or False");
    }
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    if (!node(key).IsScalar()) fail(key, "expected a name");
    return node(key).as<std::string>();
  }
  // A number or a list of numbers.
  std::vector<double> numbers(const std::string& key) const {
    const YAML::Node n = node(key);
    if (n.IsSequence()) {
      std::vector<double> out;
      for (const auto& v : n) out.push_back(number_of(v, key));
      return out;
    }
    return {number_of(n, key)};
  }
  // torchvision's size: an int (height = width, or the shorter side for Resize) or [h, w].
  std::vector<int> size(const std::string& key) const {
    if (!has(key)) fail(key, "missing");
    std::vector<int> out;
    for (double v : numbers(key)) {
      if (v != std::floor(v) || v <= 0 || v > 1 << 16) fail(key, "expected positive whole numbers");
      out.push_back(int(v));
    }
    if (out.size() > 2) fail(key, "expected a number or [height, width]");
    return out;
  }
  std::array<double, 2> pair(const std::string& key, std::array<double, 2> fallback) const {
    if (!has(key)) return fallback;
    const auto v = numbers(key);
    if (v.size() != 2) fail(key, "expected [min, max]");
    return {v[0], v[1]};
  }
  image::Interpolation interpolation(const std::string& key) const {
    try {
      return image::parse_interpolation(text(key, "bilinear"));
    } catch (const std::invalid_argument& e) {
      fail(key, e.what());
    }
  }

 private:
  std::string where_, name_;
  YAML::Node params_;
};

}  // namespace sg
