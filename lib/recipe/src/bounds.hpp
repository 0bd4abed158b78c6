#pragma once
// How large and how deep a recipe may grow, wherever it grows: YAML aliases, `defaults:`
// composition, overrides and `${}` references. A recipe past a bound is refused with a
// RecipeError before the work that would build it.
//
// SuperGradients' largest recipes compose to about 1,500 nodes, 8 KB of text and 7 levels
// of nesting from files of at most 8 KB; the bounds are some 35 times that or more. They
// also keep the worst accepted recipe cheap: yaml-cpp reads and writes about a megabyte a
// second and a node costs a few hundred bytes per copy, so the largest recipe allowed takes
// about a second and tens of megabytes, and the nesting a few hundred stack frames.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <yaml-cpp/yaml.h>

namespace sg::recipe_detail {

constexpr std::uint64_t kMaxFileBytes = 1u << 20;    // recipes are hand-written text
constexpr std::uint64_t kMaxNodes = 50000;           // keys, values and list items, as expanded
constexpr std::uint64_t kMaxTextBytes = kMaxFileBytes;  // scalars and tags together: no more than one file holds
constexpr std::size_t kMaxDepth = 64;                // mappings and lists nested in each other
constexpr std::size_t kMaxComposedFiles = 256;       // file loads of one composition, repeats included
constexpr std::size_t kMaxResolveNesting = 256;      // values being resolved at once (references within references)
constexpr std::size_t kMaxOverrides = 256;           // each looks its keys up by scanning their mappings

// The size of a tree as it reads, an alias counted as a copy of what it names. Text is
// that of scalars and tags. `depth` is how many mappings and lists nest in each other (0
// for a scalar).
struct TreeSize {
  std::uint64_t nodes = 0;
  std::uint64_t text_bytes = 0;
  std::size_t depth = 0;
};

// Walks `node`; its depth must already be known to be bounded (it recurses).
TreeSize measure(const YAML::Node& node);

// The running size of a recipe being built. add() throws RecipeError
// "<what()>: the recipe would have more than N nodes" (or "... bytes of text"); `what` is
// called only then, as naming a deep key costs the length of its path.
class SizeBudget {
 public:
  explicit SizeBudget(const TreeSize& start = {});
  void add(const TreeSize& size, const std::function<std::string()>& what);
  void remove(const TreeSize& size);
  // Bytes of text that may still be added.
  std::uint64_t text_left() const { return text_bytes_ < kMaxTextBytes ? kMaxTextBytes - text_bytes_ : 0; }

 private:
  std::uint64_t nodes_ = 0;
  std::uint64_t text_bytes_ = 0;
};

// Parses the first YAML document of `text` once a streaming pass over its events has
// checked, without expanding any alias, that the document expands within kMaxNodes and
// kMaxTextBytes and nests at most kMaxDepth deep (the parser itself recurses on nesting);
// checks its core tags (check_core_tags); returns a tree in which no node is shared (an
// alias becomes a copy). Throws RecipeError "<what>: aliases expand to more than N nodes",
// "<what>: line L: nested more than N levels deep", "<what>: line L: alias refers to a node
// that contains it", ...; a syntax error is yaml-cpp's YAML::Exception, for the caller to word.
YAML::Node parse_recipe_yaml(const std::string& text, const std::string& what);

}  // namespace sg::recipe_detail
