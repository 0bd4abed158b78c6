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
  return dir.write(relative, text);
}

// The message of the RecipeError `f` throws, or "<no error>".
inline std::string recipe_error(const std::function<void()>& f) { return error_message<sg::RecipeError>(f); }

// The message of composing recipe `name` from `dir` alone.
inline std::string compose_error(const TempDir& dir, const std::string& name, std::vector<std::string> overrides = {}) {
  return recipe_error([&] { sg::compose_recipe({name, {dir.path().string()}, std::move(overrides)}); });
}

// What SG's shortcuts (epochs=, lr=, batch_size=, val_batch_size=, ema=true, resume=true,
// num_workers=) set in a composed recipe.
inline void check_shortcut_targets(const sg::Recipe& r, int epochs, double lr, int batch_size, int val_batch_size,
                                   int num_workers) {
  CHECK(r.get<int>("training_hyperparams.max_epochs") == epochs);
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(lr));
  CHECK(r.get<int>("dataset_params.train_dataloader_params.batch_size") == batch_size);
  CHECK(r.get<int>("dataset_params.val_dataloader_params.batch_size") == val_batch_size);
  CHECK(r.get<bool>("training_hyperparams.ema"));
  CHECK(r.get<bool>("training_hyperparams.resume"));
  CHECK(r.get<int>("dataset_params.train_dataloader_params.num_workers") == num_workers);
  CHECK(r.get<int>("dataset_params.val_dataloader_params.num_workers") == num_workers);
}
