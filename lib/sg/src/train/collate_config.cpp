#include "train/collate_config.hpp"

#include <set>
#include <stdexcept>

namespace sg {
namespace {

constexpr const char* kTarget = "super_gradients.training.datasets.mixup.CollateMixup";
constexpr const char* kName = "CollateMixup";

MixupOptions::Mode read_mode(const Recipe& r, const std::string& key) {
  const std::string mode = r.get_or<std::string>(key, "batch");
  if (mode == "batch") return MixupOptions::Mode::batch;
  if (mode == "elem") return MixupOptions::Mode::elem;
  if (mode == "pair" || mode == "half")
    throw RecipeError(key + ": '" + mode + "' not implemented here (batch and elem are)");
  throw RecipeError(key + ": unknown mode '" + mode + "' (SG's: batch, pair, elem, half)");
}

MixupOptions read_params(const Recipe& r, const std::string& p, const std::set<std::string>& extra) {
  if (r.has(p) && !r.node(p).IsNull()) {
    if (!r.node(p).IsMap()) throw RecipeError(p + ": expected a mapping of CollateMixup's parameters");
    static const std::set<std::string> known = {"mixup_alpha", "cutmix_alpha", "cutmix_minmax", "prob", "switch_prob",
                                                "mode", "correct_lam", "label_smoothing", "num_classes"};
    for (const auto& entry : r.node(p)) {
      const std::string name = entry.first.as<std::string>();
      if (!known.count(name) && !extra.count(name))
        throw RecipeError(p + "." + name + ": not a parameter of SG's CollateMixup (known: mixup_alpha, cutmix_alpha, "
                          "cutmix_minmax, prob, switch_prob, mode, correct_lam, label_smoothing, num_classes)");
    }
  }
  MixupOptions o;
  o.mixup_alpha = r.get_or<double>(p + ".mixup_alpha", o.mixup_alpha);
  o.cutmix_alpha = r.get_or<double>(p + ".cutmix_alpha", o.cutmix_alpha);
  if (r.has(p + ".cutmix_minmax") && !r.node(p + ".cutmix_minmax").IsNull()) {
    const auto minmax = r.get<std::vector<double>>(p + ".cutmix_minmax");
    if (minmax.size() != 2) throw RecipeError(p + ".cutmix_minmax: expected [min, max]");
    o.cutmix_minmax = std::array<double, 2>{minmax[0], minmax[1]};
  }
  o.prob = r.get_or<double>(p + ".prob", o.prob);
  o.switch_prob = r.get_or<double>(p + ".switch_prob", o.switch_prob);
  o.mode = read_mode(r, p + ".mode");
  o.correct_lam = r.get_or<bool>(p + ".correct_lam", o.correct_lam);
  o.label_smoothing = r.get_or<double>(p + ".label_smoothing", o.label_smoothing);
  o.num_classes = r.get_or<int64_t>(p + ".num_classes", o.num_classes);
  try {
    check_mixup_options(o);
  } catch (const std::invalid_argument& e) {
    throw RecipeError(p + "." + e.what());
  }
  return o;
}

}  // namespace

std::optional<MixupOptions> read_collate_fn(const Recipe& r, const std::string& key) {
  if (!r.has(key) || r.node(key).IsNull()) return std::nullopt;
  const YAML::Node n = r.node(key);
  const std::string known = std::string(" (known: ") + kName + ", or _target_: " + kTarget + ")";
  if (n.IsScalar()) {
    const std::string name = r.get<std::string>(key);
    if (name != kName) throw RecipeError(key + ": '" + name + "' is not a collate function known here" + known);
    return MixupOptions{};   // SG's defaults
  }
  if (!n.IsMap()) throw RecipeError(key + ": expected a collate function" + known);
  if (n["_target_"]) {
    const std::string target = r.get<std::string>(key + "._target_");
    if (target != kTarget) throw RecipeError(key + "._target_: '" + target + "' is not a collate function known here" + known);
    return read_params(r, key, {"_target_", "_convert_"});
  }
  if (n.size() == 1 && n[kName]) return read_params(r, key + "." + kName, {});
  throw RecipeError(key + ": expected a collate function" + known);
}

}  // namespace sg
