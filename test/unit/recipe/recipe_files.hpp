#pragma once
// Recipe folders written by a test, and the RecipeError a composition ends with.
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "recipe/recipe.hpp"
#include "temp_dir.hpp"

// Writes `text` to `relative` under `dir`, making its folders; returns the file's path.
inline std::string write_recipe_file(const TempDir& dir, const std::string& relative, const std::string& text) {
  const std::filesystem::path path = dir.path() / relative;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

// The message of the RecipeError `f` throws, or "<no error>".
inline std::string recipe_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const sg::RecipeError& e) {
    return e.what();
  }
  return "<no error>";
}

// The message of composing recipe `name` from `dir` alone.
inline std::string compose_error(const TempDir& dir, const std::string& name, std::vector<std::string> overrides = {}) {
  return recipe_error([&] { sg::compose_recipe({name, {dir.path().string()}, std::move(overrides)}); });
}
