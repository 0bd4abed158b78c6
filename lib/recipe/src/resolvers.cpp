// SG's recipe resolvers and OmegaConf's oc.env, evaluated on YAML values.
#include "resolvers.hpp"

#include <cmath>
#include <cstdlib>
#include <functional>

#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

using Args = std::vector<YAML::Node>;

std::string shown(const YAML::Node& node) {
  switch (kind_of(node)) {
    case Kind::Null: return "null";
    case Kind::Map: return "a mapping";
    case Kind::Seq: return "a list";
    default: return "'" + node.Scalar() + "'";
  }
}

// A Python number: bool and int are integers.
struct Number {
  bool integer = true;
  std::int64_t i = 0;
  double f = 0;
  double as_double() const { return integer ? static_cast<double>(i) : f; }
};

Number number(const YAML::Node& node, const char* resolver) {
  Number n;
  switch (kind_of(node)) {
    case Kind::Bool: {
      const std::string& s = node.Scalar();
      n.i = s == "true" || s == "True" || s == "TRUE";
      return n;
    }
    case Kind::Int:
      if (!int_value(node.Scalar(), n.i))
        throw RecipeError(std::string(resolver) + ": integer '" + node.Scalar() + "' is out of range");
      return n;
    case Kind::Float:
      n.integer = false;
      n.f = float_value(node.Scalar());
      return n;
    default:
      throw RecipeError(std::string(resolver) + ": expected a number, got " + shown(node));
  }
}

YAML::Node node_of(const Number& n) { return n.integer ? int_node(n.i) : float_node(n.f); }

void arity(const char* resolver, const Args& args, std::size_t count) {
  if (args.size() != count)
    throw RecipeError(std::string(resolver) + " takes " + std::to_string(count) + " argument" + (count == 1 ? "" : "s") +
                      ", got " + std::to_string(args.size()));
}

// Folds the arguments with integer `op_int` (false on overflow) or double `op_float`.
YAML::Node fold(const char* resolver, const Args& args, std::size_t first, Number acc,
                bool (*op_int)(std::int64_t, std::int64_t, std::int64_t*), double (*op_float)(double, double)) {
  for (std::size_t k = first; k < args.size(); ++k) {
    const Number x = number(args[k], resolver);
    if (acc.integer && x.integer) {
      if (op_int(acc.i, x.i, &acc.i)) throw RecipeError(std::string(resolver) + ": integer overflow");
    } else {
      acc.f = op_float(acc.as_double(), x.as_double());
      acc.integer = false;
    }
  }
  return node_of(acc);
}

bool add_int(std::int64_t a, std::int64_t b, std::int64_t* out) { return __builtin_add_overflow(a, b, out); }
bool mul_int(std::int64_t a, std::int64_t b, std::int64_t* out) { return __builtin_mul_overflow(a, b, out); }

bool truthy(const YAML::Node& node) {
  switch (kind_of(node)) {
    case Kind::Null: return false;
    case Kind::Bool:
    case Kind::Int:
    case Kind::Float: return number(node, "cond").as_double() != 0;
    case Kind::String: return !node.Scalar().empty();
    default: return node.size() > 0;
  }
}

const YAML::Node& sequence(const char* resolver, const YAML::Node& node) {
  if (!node.IsSequence()) throw RecipeError(std::string(resolver) + ": expected a list, got " + shown(node));
  if (node.size() == 0) throw RecipeError(std::string(resolver) + ": the list is empty");
  return node;
}

YAML::Node getitem(const Args& args) {
  arity("getitem", args, 2);
  const YAML::Node& container = args[0];
  const YAML::Node& key = args[1];
  if (container.IsSequence()) {
    const Number n = number(key, "getitem");
    if (!n.integer) throw RecipeError("getitem: a list index must be an integer, got " + shown(key));
    const auto size = static_cast<std::int64_t>(container.size());
    const std::int64_t i = n.i < 0 ? n.i + size : n.i;  // Python: -1 is the last item
    if (i < 0 || i >= size)
      throw RecipeError("getitem: index " + std::to_string(n.i) + " is out of range for a list of " + std::to_string(size));
    return container[static_cast<std::size_t>(i)];
  }
  if (container.IsMap()) {
    if (!key.IsScalar()) throw RecipeError("getitem: a mapping key must be a scalar, got " + shown(key));
    const YAML::Node found = lookup(container, {key.Scalar()});
    if (!found.IsDefined()) throw RecipeError("getitem: the mapping has no key '" + key.Scalar() + "'");
    return found;
  }
  throw RecipeError("getitem: expected a list or a mapping, got " + shown(container));
}

YAML::Node length(const Args& args) {
  arity("len", args, 1);
  const YAML::Node& x = args[0];
  if (x.IsSequence() || x.IsMap()) return int_node(static_cast<std::int64_t>(x.size()));
  if (kind_of(x) == Kind::String) {
    std::int64_t chars = 0;  // Python counts characters: UTF-8 lead bytes
    for (unsigned char c : x.Scalar()) chars += (c & 0xC0) != 0x80;
    return int_node(chars);
  }
  throw RecipeError("len: expected a list, a mapping or a string, got " + shown(x));
}

YAML::Node env(const Args& args) {
  if (args.empty() || args.size() > 2) throw RecipeError("oc.env takes 1 or 2 arguments, got " + std::to_string(args.size()));
  if (!args[0].IsScalar() || kind_of(args[0]) == Kind::Null) throw RecipeError("oc.env: expected a variable name");
  const std::string& name = args[0].Scalar();
  if (const char* v = std::getenv(name.c_str())) return make_string(v);
  if (args.size() == 1) throw RecipeError("environment variable '" + name + "' is not set");
  if (kind_of(args[1]) == Kind::Null) return YAML::Node(YAML::NodeType::Null);
  if (!args[1].IsScalar()) throw RecipeError("oc.env: the default must be a string, got " + shown(args[1]));
  return make_string(args[1].Scalar());
}

[[noreturn]] void unavailable(const std::string& name, const char* why) {
  throw RecipeError("resolver '" + name + "' " + why);
}

}  // namespace

YAML::Node call_resolver(const std::string& name, const Args& args) {
  if (name == "add") return fold("add", args, 0, Number{}, add_int, [](double a, double b) { return a + b; });
  if (name == "mul") {
    if (args.empty()) throw RecipeError("mul takes at least 1 argument, got 0");
    return fold("mul", args, 1, number(args[0], "mul"), mul_int, [](double a, double b) { return a * b; });
  }
  if (name == "div") {
    arity("div", args, 2);
    const double y = number(args[1], "div").as_double();
    if (y == 0) throw RecipeError("div: division by zero");
    return float_node(number(args[0], "div").as_double() / y);
  }
  if (name == "cond") {
    arity("cond", args, 3);
    return truthy(args[0]) ? args[1] : args[2];
  }
  if (name == "getitem") return getitem(args);
  if (name == "first" || name == "last") {
    arity(name.c_str(), args, 1);
    const YAML::Node& list = sequence(name.c_str(), args[0]);
    return list[name == "first" ? 0 : list.size() - 1];
  }
  if (name == "len") return length(args);
  if (name == "oc.env") return env(args);
  if (name == "class") unavailable(name, "looks up a Python class, which has no meaning here");
  if (name == "roboflow_dataset_num_classes")
    unavailable(name, "reads SG's table of Roboflow datasets (Python), which is not available here");
  if (name == "hydra_output_dir")
    unavailable(name, "is Hydra's output folder, only accepted as SG's hydra.run.dir (runs are written to "
                      "<ckpt_root_dir>/<experiment_name>/RUN_<id>/)");
  throw RecipeError("unsupported resolver '" + name +
                    "' (known: add, mul, div, cond, getitem, first, last, len, oc.env)");
}

}  // namespace sg::recipe_detail
