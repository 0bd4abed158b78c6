#pragma once
// Private helpers of the recipe layer (sg_recipe). Not installed, not part of the API.
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "recipe/recipe.hpp"

namespace sg::recipe_detail {

// The value type a YAML node stands for. Plain scalars are typed by their spelling
// (YAML 1.2 core schema: true/false, integers, floats incl. 1e-3); quoted scalars and
// `!!str` are strings.
enum class Kind { Null, Bool, Int, Float, String, Seq, Map };

Kind kind_of(const YAML::Node& node);
Kind infer_plain(const std::string& text);
const char* kind_name(Kind kind);  // "an integer", "a list", ...
bool is_int_text(const std::string& text);

// Numbers of YAML 1.2 spellings ("0x1f", "0o17", "1e-3", "-.inf"). int_value is false when
// the text is no integer or out of range for int64.
bool int_value(const std::string& text, std::int64_t& out);
double float_value(std::string text);
// Scalars that read back as the number; a float is written as Python's repr writes it
// (shortest text that reads back exactly, "2.0" rather than "2").
YAML::Node int_node(std::int64_t value);
YAML::Node float_node(double value);

// YAML is Unicode text: yaml-cpp keeps invalid UTF-8 bytes when it reads but writes them
// as U+FFFD, so a recipe holding them would not survive being stored. Throws RecipeError
// "<what>: not valid UTF-8 (byte N)" for such text.
void require_utf8(const std::string& text, const std::string& what);

// Builds a scalar that stays a string whatever it looks like.
YAML::Node make_string(const std::string& text);

// Dotted paths: "a.b.0.c" (numbers index sequences); group paths use '/' ("a/b").
std::vector<std::string> split_path(const std::string& path, char separator = '.');
std::string join_path(const std::vector<std::string>& segments, std::size_t count = std::string::npos);

// Finds a node; the result refers into the tree (not a copy). Undefined if absent.
YAML::Node lookup(const YAML::Node& root, const std::vector<std::string>& segments);
// Index of `segment` in a sequence, or -1 if it is not a valid index.
long seq_index(const YAML::Node& seq, const std::string& segment);
// Replaces (or adds, for maps) a child of `parent` with a copy of `value`.
void set_child(YAML::Node& parent, const std::string& segment, const YAML::Node& value);
bool remove_child(YAML::Node& parent, const std::string& segment);

// Deep merge: maps merge recursively, anything else in `src` replaces `dst`'s value.
// `src` is copied, never aliased.
void deep_merge(YAML::Node& dst, const YAML::Node& src);
// Equal trees: same kinds, keys in the same order, equal scalars (floats by value).
bool deep_equal(const YAML::Node& a, const YAML::Node& b);

// Refuses a scalar whose explicit core tag its text does not fit (`!!int abc`,
// `!!bool 3`): RecipeError "<what>: line N: 'abc' is not a valid !!int".
void check_core_tags(const YAML::Node& node, const std::string& what);

// A recipe file's YAML: at most kMaxFileBytes of valid UTF-8, parsed by parse_recipe_yaml
// (bounded, core tags checked, no shared nodes). Errors are RecipeError
// "<what>: line N, column C: ..." (`what` names the file for the user).
YAML::Node load_yaml_file(const std::string& path, const std::string& what);

// YAML text that loads back to an equal tree (strings that look like numbers,
// bools or null are quoted).
std::string emit_yaml(const YAML::Node& root);
// The same on one line (flow style): what an override `key=<text>` would set.
std::string emit_yaml_flow(const YAML::Node& value);

// Overrides ("a.b=1", "+a.c=2", "~a.d", SG shortcuts) applied in order. `context` prefixes
// error messages ("recipe 'x'"). With `sg_shortcuts` (the recipe lists SG's shortcuts
// callback), a shortcut sets the top-level key of its name as well as the keys it stands for.
void apply_overrides(YAML::Node& root, const std::vector<std::string>& overrides, const std::string& context,
                     bool sg_shortcuts = false);

class Origins;
// Replaces `${a.b}` references and resolver calls (`${add:${a},1}`) in place; an error names
// the file the failing value was written in when `origins` knows it.
// `referenced`, when given, receives the dotted path of every value a `${}` reference read.
void resolve_interpolations(YAML::Node& root, const std::string& context, const Origins* origins = nullptr,
                            std::set<std::string>* referenced = nullptr);

// Closest candidate by edit distance, or "" when none is close enough.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// Where a key given at the wrong level is: the dotted paths (relative to `root`, in document
// order) of every node below `root` under which `tail` leads to a value. "mixed_precision"
// finds "training_hyperparams.mixed_precision". At most `limit` paths.
std::vector<std::string> paths_ending_in(const YAML::Node& root, const std::vector<std::string>& tail,
                                         std::size_t limit = 3);

// The leaves below `root` in document order (values, lists, empty mappings) with their
// dotted paths; a path that `skip` accepts is left out with all below it.
void for_each_leaf(const YAML::Node& root, const std::function<void(const std::string&, const YAML::Node&)>& leaf,
                   const std::function<bool(const std::string&)>& skip = {});

}  // namespace sg::recipe_detail
