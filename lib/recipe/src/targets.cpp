// The allow-list of `_target_` objects SG's recipes use.
#include "targets.hpp"

#include <cmath>
#include <optional>
#include <set>

#include "bounds.hpp"
#include "origins.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

// A target's argument check and value; `args` is the mapping without `_target_`.
using Evaluate = YAML::Node (*)(const YAML::Node& args);

struct Target {
  const char* name;
  std::set<std::string> arguments;  // the keys it takes
  Evaluate value;                   // nullptr: an object, kept as written
};

std::string shown(const YAML::Node& node) {
  const Kind k = kind_of(node);
  if (k == Kind::Map || k == Kind::Seq || k == Kind::Null) return kind_name(k);
  return "'" + node.Scalar() + "'";
}

YAML::Node strict_load(const YAML::Node& args) {
  const YAML::Node value = lookup(args, {"value"});
  const Kind k = kind_of(value);
  if (k == Kind::Bool || (k == Kind::String && (value.Scalar() == "no_key_matching" || value.Scalar() == "key_matching")))
    return value;
  throw RecipeError("value " + shown(value) + " is not one of StrictLoad's: true, false, no_key_matching, key_matching");
}

// numpy.arange: the length is ceil((stop - start) / step); an integer range stays exact.
YAML::Node arange(const YAML::Node& args) {
  const YAML::Node start = lookup(args, {"start"}), stop = lookup(args, {"stop"}), step = lookup(args, {"step"});
  if (!stop.IsDefined()) throw RecipeError("numpy.arange needs 'stop'");
  bool integers = true;
  auto read = [&](const YAML::Node& node, const char* name, double fallback) {
    if (!node.IsDefined()) return fallback;
    const Kind k = kind_of(node);
    if (k != Kind::Int && k != Kind::Float) throw RecipeError(std::string(name) + ": expected a number, got " + shown(node));
    std::int64_t i = 0;
    if (k == Kind::Int && !int_value(node.Scalar(), i)) throw RecipeError(std::string(name) + ": integer out of range");
    integers = integers && k == Kind::Int;
    return k == Kind::Int ? static_cast<double>(i) : float_value(node.Scalar());
  };
  const double a = read(start, "start", 0), b = read(stop, "stop", 0), d = read(step, "step", 1);
  if (d == 0 || !std::isfinite(a) || !std::isfinite(b) || !std::isfinite(d))
    throw RecipeError("numpy.arange: start, stop and step must be finite and step not 0");
  const double count = std::max(0.0, std::ceil((b - a) / d));
  if (count > static_cast<double>(kMaxNodes))
    throw RecipeError("numpy.arange gives " + std::to_string(static_cast<long long>(count)) + " items, more than " +
                      std::to_string(kMaxNodes));
  YAML::Node list(YAML::NodeType::Sequence);
  list.SetStyle(YAML::EmitterStyle::Flow);
  const std::size_t n = static_cast<std::size_t>(count);
  if (integers) {
    // |start|, |step| <= 2^53 here (exact doubles of int64 spellings), n <= kMaxNodes: no overflow
    // only within those; refuse anything larger.
    if (std::fabs(a) > 9.0e15 || std::fabs(d) > 9.0e15 || std::fabs(b) > 9.0e15)
      throw RecipeError("numpy.arange: integers beyond 9e15 are not supported");
    const auto i0 = static_cast<std::int64_t>(a), di = static_cast<std::int64_t>(d);
    for (std::size_t i = 0; i < n; ++i) list.push_back(int_node(i0 + static_cast<std::int64_t>(i) * di));
  } else {
    const double delta = (a + d) - a;  // numpy fills from its first two values
    for (std::size_t i = 0; i < n; ++i) list.push_back(float_node(a + static_cast<double>(i) * delta));
  }
  return list;
}

YAML::Node empty_list(const YAML::Node&) { return YAML::Node(YAML::NodeType::Sequence); }

const std::vector<Target>& targets() {
  static const std::vector<Target> table = {
      {"super_gradients.training.sg_trainer.StrictLoad", {"value"}, strict_load},
      {"super_gradients.common.data_types.enum.strict_load.StrictLoad", {"value"}, strict_load},
      {"numpy.arange", {"start", "stop", "step"}, arange},
      {"super_gradients.training.utils.utils.empty_list", {}, empty_list},
      {"super_gradients.training.datasets.mixup.CollateMixup", {}, nullptr},
  };
  return table;
}

bool holds_reference(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar().find("${") != std::string::npos;
  for (const auto& item : node)
    if (holds_reference(node.IsMap() ? item.second : item)) return true;
  return false;
}

class Walker {
 public:
  Walker(const YAML::Node& root, const Origins& origins, bool final) : root_(root), origins_(origins), final_(final) {}

  // Walks `node` at `path` (segments, joined only for messages); returns its replacement
  // when it is a value target, else an undefined node.
  YAML::Node walk(const YAML::Node& node, std::vector<std::string>& path) {
    if (node.IsMap()) {
      const YAML::Node target = lookup(node, {"_target_"});
      if (target.IsDefined()) return evaluate(node, target, path);
    }
    if (!node.IsMap() && !node.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
    std::size_t i = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++i) {
      const bool map = node.IsMap();
      if (map && !it->first.IsScalar()) continue;
      if (map && path.empty() && it->first.Scalar() == "hydra") continue;
      YAML::Node child = map ? it->second : *it;
      path.push_back(map ? it->first.Scalar() : std::to_string(i));
      YAML::Node replacement = walk(child, path);
      path.pop_back();
      if (!replacement.IsDefined()) continue;
      path.push_back(map ? it->first.Scalar() : std::to_string(i));
      if (!budget_) budget_.emplace(measure(root_));  // measured only when something is added
      budget_->add(measure(replacement), [&] { return join_path(path); });
      path.pop_back();
      child = YAML::Clone(replacement);  // writes through to the tree (a key written twice included)
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

 private:
  YAML::Node evaluate(const YAML::Node& node, const YAML::Node& target, const std::vector<std::string>& path) {
    const std::string key = join_path(path);
    auto fail = [&](const std::string& why) {
      return RecipeError(key + ": _target_ " + shown(target) + ": " + why + origins_.written_in(key));
    };
    const Target* known = nullptr;
    for (const Target& t : targets())
      if (target.IsScalar() && target.Scalar() == t.name) known = &t;
    if (!known)
      throw fail("not supported (nothing is imported: the targets accepted are SG's StrictLoad, numpy.arange, "
                 "empty_list and CollateMixup)");
    if (!known->value) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node args(YAML::NodeType::Map);
    for (const auto& kv : node) {
      const std::string name = kv.first.Scalar();
      if (name == "_target_") continue;
      if (!known->arguments.count(name)) throw fail("unknown argument '" + name + "'");
      args.force_insert(name, kv.second);
    }
    if (!final_ && holds_reference(args)) return YAML::Node(YAML::NodeType::Undefined);
    try {
      return known->value(args);
    } catch (const RecipeError& e) {
      throw fail(e.what());
    }
  }

  const YAML::Node& root_;
  const Origins& origins_;
  bool final_;
  std::optional<SizeBudget> budget_;
};

}  // namespace

void evaluate_targets(YAML::Node& root, const Origins& origins, const std::string& context, bool final) {
  try {
    std::vector<std::string> path;
    Walker(root, origins, final).walk(root, path);
  } catch (const RecipeError& e) {
    throw RecipeError(context + ": " + e.what());
  }
}

}  // namespace sg::recipe_detail
