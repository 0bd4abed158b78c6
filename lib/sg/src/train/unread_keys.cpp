// Keys of a composed recipe that nothing read. One that asks for nothing (null, False, an
// empty list or mapping, "") is what we do anyway and passes; one listed below is accepted
// knowingly without effect; any other is refused, naming it.
#include "train/unread_keys.hpp"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

namespace sg {
namespace {

bool asks_for_nothing(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return true;
  if (n.IsSequence() || n.IsMap()) return n.size() == 0;
  bool flag = true;
  if (YAML::convert<bool>::decode(n, flag)) return !flag;
  return n.Scalar().empty();
}

struct NoEffect {
  std::function<bool(const YAML::Node&)> accepts;   // null: any value
  const char* why;                                   // said when the value is refused
};

// Key (or the start of a key, ending in '.') -> why it has no effect here. README lists them.
const std::map<std::string, NoEffect>& no_effect() {
  static const std::map<std::string, NoEffect> keys = {
      {"hydra.callbacks.", {nullptr, ""}},   // SG's shortcuts callback: applied at composition
      {"training_hyperparams.log_installed_packages", {nullptr, ""}},   // checkpoints carry `packages` instead
      {"training_hyperparams.run_test_freq", {nullptr, ""}},            // no test sets here
      {"training_hyperparams.sg_logger_params.monitor_system", {nullptr, ""}},   // no system statistics logged
      {"training_hyperparams.torch_compile_options.", {nullptr, ""}},  // read only with torch_compile
      {"dataset_params.batch_size", {nullptr, ""}},                     // SG 3.x no longer reads them either
      {"dataset_params.val_batch_size", {nullptr, ""}},
      {"dataset_params.synthetic.", {nullptr, ""}},                     // read with dataset: synthetic only
      {"data_loader_num_workers", {nullptr, ""}},   // in SG's recipes, read by nothing in SG either
      {"dataset_params.img_mean", {nullptr, ""}},   // SG's: only for ${} references in transform lists
      {"dataset_params.img_std", {nullptr, ""}},
      {"training_hyperparams.sg_logger",
       {[](const YAML::Node& n) { return n.IsScalar() && n.Scalar() == "base_sg_logger"; },
        "only SG's base_sg_logger (log file and TensorBoard events in the run directory) is implemented"}},
  };
  return keys;
}

bool has_suffix_key(const std::string& key, const std::string& last) {
  return key == last || (key.size() > last.size() && key.compare(key.size() - last.size() - 1, std::string::npos,
                                                                 "." + last) == 0);
}

}  // namespace

void refuse_unread_keys(const Recipe& recipe) {
  for (const std::string& key : recipe.unread_keys()) {
    if (has_suffix_key(key, "_convert_")) continue;   // Hydra's instantiate flag: nothing is instantiated here
    const YAML::Node value = recipe.node(key);
    const NoEffect* listed = nullptr;
    for (const auto& [name, entry] : no_effect())
      if (key == name || (name.back() == '.' && key.compare(0, name.size(), name) == 0)) listed = &entry;
    if (listed && (!listed->accepts || listed->accepts(value))) continue;
    if (listed) throw RecipeError(key + ": " + listed->why);
    if (asks_for_nothing(value)) continue;
    std::string msg = key + ": nothing here reads this key (unknown, or not implemented); remove it or set it to null";
    const std::vector<std::string> elsewhere = recipe.paths_ending_in(key);
    if (!elsewhere.empty()) msg += " (did you mean '" + elsewhere.front() + "'?)";
    throw RecipeError(msg);
  }
}

}  // namespace sg
