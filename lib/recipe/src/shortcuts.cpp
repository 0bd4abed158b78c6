// SG's shortcut keys: the table, and RecipeShortcutsCallback's copy.
#include "shortcuts.hpp"

#include "bounds.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {

const std::vector<Shortcut>& shortcuts() {
  static const std::vector<Shortcut> table = {
      {"lr", {"training_hyperparams.initial_lr"}},
      {"batch_size", {"dataset_params.train_dataloader_params.batch_size"}},
      {"val_batch_size", {"dataset_params.val_dataloader_params.batch_size"}},
      {"resume", {"training_hyperparams.resume"}},
      {"epochs", {"training_hyperparams.max_epochs"}},
      {"ema", {"training_hyperparams.ema"}},
      {"num_workers",
       {"dataset_params.train_dataloader_params.num_workers", "dataset_params.val_dataloader_params.num_workers"}},
  };
  return table;
}

const Shortcut* find_shortcut(const std::string& name) {
  for (const Shortcut& s : shortcuts())
    if (name == s.name) return &s;
  return nullptr;
}

void apply_sg_shortcuts(YAML::Node& root, const std::string& context) {
  // SG's callback reads resolved values and writes plain ones before the rest is resolved,
  // so a reference elsewhere to a key it sets sees the new value.
  YAML::Node resolved = YAML::Clone(root);
  resolve_interpolations(resolved, context);
  SizeBudget budget(measure(root));
  for (const Shortcut& s : shortcuts()) {
    for (const char* target : s.targets) {
      const std::vector<std::string> short_path{s.name}, long_path = split_path(target);
      const YAML::Node short_value = lookup(resolved, short_path), long_value = lookup(resolved, long_path);
      for (const auto& [path, value] : {std::pair{&short_path, &short_value}, std::pair{&long_path, &long_value}})
        if (!value->IsDefined())
          throw RecipeError(context + ": " + join_path(*path) + ": missing from the recipe (SG's RecipeShortcutsCallback, " +
                            "listed in hydra.callbacks, copies shortcut '" + s.name + "' to " + target + ")");
      const YAML::Node value = YAML::Clone(short_value.IsNull() ? long_value : short_value);
      for (const std::vector<std::string>* path : {&short_path, &long_path}) {
        budget.add(measure(value), [&] { return context + ": " + join_path(*path); });
        YAML::Node parent = lookup(root, std::vector<std::string>(path->begin(), path->end() - 1));
        if (!parent.IsMap())
          throw RecipeError(context + ": " + join_path(*path) + ": SG's shortcut '" + s.name +
                            "' cannot be copied here: its mapping is given by a reference");
        set_child(parent, path->back(), value);
        YAML::Node resolved_parent = lookup(resolved, std::vector<std::string>(path->begin(), path->end() - 1));
        set_child(resolved_parent, path->back(), value);
      }
    }
  }
}

}  // namespace sg::recipe_detail
