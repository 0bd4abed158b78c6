// Command-line overrides: `a.b=value`, `+a.b=value`, `++a.b=value`, `~a.b`, and SG's
// top-level shortcuts (`epochs`, `lr`, `batch_size`, ...).
#include <utility>

#include "bounds.hpp"
#include "recipe_detail.hpp"
#include "shortcuts.hpp"

namespace sg::recipe_detail {
namespace {

YAML::Node parse_value(const std::string& text, const std::string& override_text) {
  if (text.empty()) return make_string("");  // Hydra: `key=` is the empty string
  try {
    YAML::Node v = parse_recipe_yaml(text, "override '" + override_text + "'");
    if (!v.IsDefined()) return YAML::Node(YAML::NodeType::Null);
    return v;
  } catch (const YAML::Exception& e) {
    throw RecipeError("override '" + override_text + "': cannot parse value '" + text + "': " + e.msg);
  }
}

std::vector<std::string> keys_of(const YAML::Node& map) {
  std::vector<std::string> keys;
  if (map.IsMap())
    for (const auto& kv : map) keys.push_back(kv.first.Scalar());
  return keys;
}

// "a", "a' or 'b", "a', 'b' or 'c" (inside the quotes of the message).
std::string alternatives(const std::vector<std::string>& paths) {
  std::string out;
  for (std::size_t i = 0; i < paths.size(); ++i)
    out += (i == 0 ? "" : i + 1 == paths.size() ? "' or '" : "', '") + paths[i];
  return out;
}

// "unknown key 'a.b' (...)" with a hint for the first missing segment: where the rest of the
// key is deeper in the recipe ('mixed_precision' -> 'training_hyperparams.mixed_precision'),
// else a close spelling, else how to add it.
[[noreturn]] void unknown_key(const YAML::Node& root, const std::vector<std::string>& segs, const std::string& shown) {
  std::size_t depth = 0;
  YAML::Node cur = root;
  while (depth < segs.size()) {
    YAML::Node next = lookup(cur, {segs[depth]});
    if (!next.IsDefined()) break;
    cur.reset(next);
    ++depth;
  }
  std::string msg = "unknown key '" + shown + "'";
  std::vector<std::string> deeper = paths_ending_in(cur, std::vector<std::string>(segs.begin() + depth, segs.end()));
  if (depth > 0)
    for (std::string& path : deeper) path = join_path(segs, depth) + "." + path;
  std::string hint = closest_match(segs[depth], keys_of(cur));
  if (!deeper.empty())
    msg += " (did you mean '" + alternatives(deeper) + "'?)";
  else if (!hint.empty())
    msg += " (did you mean '" + hint + "'?)";
  else if (depth > 0 && !cur.IsMap() && !cur.IsSequence())
    msg += " ('" + join_path(segs, depth) + "' is not a mapping)";
  else
    msg += " (use '+" + shown + "=...' to add a new key)";
  throw RecipeError(msg);
}

// Checks that `value` may replace `existing`; returns the value to store.
YAML::Node typed_value(const YAML::Node& existing, const YAML::Node& value, const std::string& key,
                       const std::string& raw) {
  Kind old_kind = kind_of(existing), new_kind = kind_of(value);
  if (old_kind == Kind::Null || new_kind == Kind::Null) return value;
  // A reference's type is known only once it is resolved.
  if (old_kind == Kind::String && existing.Scalar().find("${") != std::string::npos) return value;
  auto fail = [&]() -> RecipeError {
    return RecipeError(key + ": expected " + kind_name(old_kind) + ", got '" + raw + "'");
  };
  switch (old_kind) {
    case Kind::Int:
      if (new_kind != Kind::Int) throw fail();
      return value;
    case Kind::Float:
      if (new_kind == Kind::Float) return value;
      if (new_kind == Kind::Int) {
        // Keep the key a float so later overrides (e.g. on resume) still accept 0.5.
        const std::string& t = value.Scalar();
        try {
          long long v = t.rfind("0o", 0) == 0 ? std::stoll(t.substr(2), nullptr, 8) : std::stoll(t, nullptr, 0);
          return YAML::Node(std::to_string(v) + ".0");
        } catch (const std::exception&) {
          return value;  // out of range for int64: keep the spelling
        }
      }
      throw fail();
    case Kind::Bool:
      if (new_kind != Kind::Bool) throw fail();
      return value;
    case Kind::String:
      if (new_kind == Kind::Map || new_kind == Kind::Seq) throw fail();
      return make_string(value.Scalar());
    case Kind::Seq:
      if (new_kind != Kind::Seq) throw fail();
      return value;
    case Kind::Map:
      if (new_kind != Kind::Map) throw fail();
      return value;
    default:
      return value;
  }
}

void set_path(YAML::Node& root, const std::vector<std::string>& segs, const YAML::Node& value, bool create) {
  YAML::Node parent = root;
  for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
    // (yaml-cpp: `handle = other` writes through the handle, so handles are only reset)
    YAML::Node next = lookup(parent, {segs[i]});
    if (!next.IsDefined() || next.IsNull()) {
      if (!create || !parent.IsMap()) throw RecipeError("unknown key '" + join_path(segs, i + 1) + "'");
      set_child(parent, segs[i], YAML::Node(YAML::NodeType::Map));
      next.reset(lookup(parent, {segs[i]}));
    }
    if (!next.IsMap() && !next.IsSequence())
      throw RecipeError("'" + join_path(segs, i + 1) + "' is not a mapping, cannot set '" + join_path(segs) + "'");
    parent.reset(next);
  }
  YAML::Node existing = lookup(parent, {segs.back()});
  if (existing.IsDefined() && existing.IsMap() && value.IsMap()) {
    deep_merge(existing, value);  // Hydra merges a mapping override into the mapping
    return;
  }
  set_child(parent, segs.back(), value);
}

void check_key(const std::string& key, const std::string& override_text) {
  if (key.empty()) throw RecipeError("override '" + override_text + "': empty key");
  for (const std::string& seg : split_path(key))
    if (seg.empty()) throw RecipeError("override '" + override_text + "': bad key '" + key + "'");
}

// `budget` holds the recipe's size so far; each value set counts as added (what it
// replaces is not subtracted: a bound on the growth, not the exact size).
void apply_one(YAML::Node& root, const std::string& text, SizeBudget& budget, bool sg_shortcuts) {
  require_utf8(text, "override");
  std::string body = text;
  enum { kSet, kAdd, kForce, kDelete } op = kSet;
  if (body.rfind("++", 0) == 0) {
    op = kForce;
    body = body.substr(2);
  } else if (body.rfind("+", 0) == 0) {
    op = kAdd;
    body = body.substr(1);
  } else if (body.rfind("~", 0) == 0) {
    op = kDelete;
    body = body.substr(1);
  }
  const auto eq = body.find('=');
  const std::string key = body.substr(0, eq);
  check_key(key, text);
  const std::vector<std::string> segs = split_path(key);

  if (op == kDelete) {
    YAML::Node existing = lookup(root, segs);
    if (!existing.IsDefined()) unknown_key(root, segs, key);
    if (eq != std::string::npos) {
      YAML::Node expected = parse_value(body.substr(eq + 1), text);
      if (!deep_equal(existing, expected) && !(kind_of(existing) == Kind::String && existing.Scalar() == expected.Scalar()))
        throw RecipeError(key + ": cannot delete, its value is not '" + body.substr(eq + 1) + "'");
    }
    YAML::Node parent = lookup(root, std::vector<std::string>(segs.begin(), segs.end() - 1));
    if (!remove_child(parent, segs.back())) throw RecipeError(key + ": cannot delete an item of a list");
    return;
  }
  if (eq == std::string::npos)
    throw RecipeError("override '" + text + "' is not of the form key=value");
  const std::string raw = body.substr(eq + 1);
  YAML::Node value = parse_value(raw, text);
  const std::string what = "override '" + text + "'";
  const TreeSize value_size = measure(value);
  if (segs.size() + value_size.depth > kMaxDepth)
    throw RecipeError(what + ": nested more than " + std::to_string(kMaxDepth) + " levels deep");

  if (op == kAdd || op == kForce) {
    YAML::Node existing = lookup(root, segs);
    if (op == kAdd && existing.IsDefined())
      throw RecipeError("cannot add '" + key + "': the key already exists (use '" + key + "=" + raw +
                        "' to change it, or '++" + key + "=" + raw + "')");
    budget.add(value_size, [&] { return what; });
    set_path(root, segs, value, true);
    return;
  }

  // Plain set: the key must exist (directly, or through an SG shortcut). A shortcut sets the
  // keys it stands for; a top-level key of its name wins, unless SG's shortcuts are on: then
  // both are set.
  std::vector<std::vector<std::string>> targets;
  const Shortcut* shortcut = segs.size() == 1 ? find_shortcut(key) : nullptr;
  const bool at_top = lookup(root, segs).IsDefined();
  if (shortcut && (!at_top || sg_shortcuts)) {
    if (at_top) targets.push_back(segs);
    for (const char* t : shortcut->targets) {
      std::vector<std::string> tsegs = split_path(t);
      if (lookup(root, tsegs).IsDefined()) targets.push_back(tsegs);
    }
    if (targets.empty()) unknown_key(root, split_path(shortcut->targets.front()), shortcut->targets.front());
  }
  if (targets.empty()) targets.push_back(segs);
  for (const auto& tsegs : targets) {
    YAML::Node existing = lookup(root, tsegs);
    if (!existing.IsDefined()) unknown_key(root, tsegs, join_path(tsegs));
    YAML::Node stored = typed_value(existing, value, join_path(tsegs), raw);
    budget.add(value_size, [&] { return what; });
    set_path(root, tsegs, stored, false);
  }
}

}  // namespace

void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides, const std::string& context,
                     bool sg_shortcuts) {
  if (overrides.size() > kMaxOverrides)
    throw RecipeError((context.empty() ? "" : context + ": ") + "more than " + std::to_string(kMaxOverrides) +
                      " overrides");
  SizeBudget budget(measure(root));
  for (const std::string& o : overrides) {
    try {
      apply_one(root, o, budget, sg_shortcuts);
    } catch (const RecipeError& e) {
      std::string msg = e.what();
      if (msg.find("override '") == std::string::npos) msg += " (override '" + o + "')";
      throw RecipeError(context.empty() ? msg : context + ": " + msg);
    }
  }
}

}  // namespace sg::recipe_detail
