// Recipe composition: YAML text, `defaults:` lists, overrides and `${a.b}` references.
// The input is split on NUL bytes: the recipe (fuzz.yaml), then overrides one per line,
// then up to four group files <group>/fuzz.yaml (arch_params, checkpoint_params,
// dataset_params, training_hyperparams), so `defaults: [{arch_params: fuzz}]` composes
// them. The built-in recipes folder is searched after the scratch folder.
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "recipe/recipe.hpp"
#include "recipe_detail.hpp"

namespace {

const char* const kGroups[] = {"arch_params", "checkpoint_params", "dataset_params", "training_hyperparams"};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t end; (end = text.find(separator, start)) != std::string::npos; start = end + 1)
    parts.push_back(text.substr(start, end - start));
  parts.push_back(text.substr(start));
  return parts;
}

void put(const std::string& relative, const std::string* content) {
  const std::filesystem::path path = fuzz::scratch_dir() / "recipes" / relative;
  if (content)
    fuzz::write_file("recipes/" + relative, reinterpret_cast<const uint8_t*>(content->data()), content->size());
  else
    std::filesystem::remove(path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> parts = split(std::string(reinterpret_cast<const char*>(data), size), '\0');
  put("fuzz.yaml", &parts[0]);
  for (size_t g = 0; g < 4; ++g) put(std::string(kGroups[g]) + "/fuzz.yaml", parts.size() > g + 2 ? &parts[g + 2] : nullptr);

  sg::RecipeRequest request;
  request.config_name = "fuzz";
  request.config_dirs = {(fuzz::scratch_dir() / "recipes").string(), sg::builtin_recipes_dir()};
  if (parts.size() > 1)
    for (const std::string& line : split(parts[1], '\n'))
      if (!line.empty()) request.overrides.push_back(line);
  try {
    const sg::Recipe recipe = sg::compose_recipe(request);
    // What a run directory stores must load back to the same tree (sg-resume relies on it).
    const std::string text = recipe.to_yaml();
    const YAML::Node reloaded = YAML::Load(text);
    if (!sg::recipe_detail::deep_equal(reloaded, recipe.root())) {
      std::fprintf(stderr, "to_yaml() does not load back to the same recipe:\n%s\n", text.c_str());
      std::abort();
    }
    // Typed access as the trainer does it: a wrong type is a RecipeError naming the key.
    auto typed = [&](auto fallback, const char* key) {
      try {
        (void)recipe.get_or(key, fallback);
      } catch (const sg::RecipeError&) {
      }
    };
    typed(int64_t{0}, "training_hyperparams.max_epochs");
    typed(0.0, "training_hyperparams.initial_lr");
    typed(false, "training_hyperparams.ema");
    typed(std::string(), "arch_params.model");
    typed(std::vector<int64_t>{}, "training_hyperparams.lr_updates");
    typed(std::vector<double>{}, "dataset_params.mean");
    typed(std::vector<std::string>{}, "training_hyperparams.metrics");
  } catch (const sg::RecipeError&) {
  }
  return 0;
}
