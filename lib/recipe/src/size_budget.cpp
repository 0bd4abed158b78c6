// Sizes of recipe trees and the running budget that bounds them.
#include <algorithm>

#include "bounds.hpp"
#include "recipe/recipe.hpp"

namespace sg::recipe_detail {

TreeSize measure(const YAML::Node& node) {
  TreeSize size;
  size.nodes = 1;
  size.text_bytes = node.Tag().size();
  auto add_child = [&size](const YAML::Node& child) {
    const TreeSize c = measure(child);
    size.nodes += c.nodes;
    size.text_bytes += c.text_bytes;
    size.depth = std::max(size.depth, c.depth + 1);
  };
  if (node.IsMap()) {
    size.depth = 1;
    for (const auto& kv : node) {
      add_child(kv.first);
      add_child(kv.second);
    }
  } else if (node.IsSequence()) {
    size.depth = 1;
    for (const auto& item : node) add_child(item);
  } else if (node.IsScalar()) {
    size.text_bytes += node.Scalar().size();
  }
  return size;
}

SizeBudget::SizeBudget(const TreeSize& start) : nodes_(start.nodes), text_bytes_(start.text_bytes) {}

void SizeBudget::add(const TreeSize& size, const std::function<std::string()>& what) {
  if (size.nodes > kMaxNodes - std::min(nodes_, kMaxNodes))
    throw RecipeError(what() + ": the recipe would have more than " + std::to_string(kMaxNodes) + " nodes");
  if (size.text_bytes > text_left())
    throw RecipeError(what() + ": the recipe would have more than " + std::to_string(kMaxTextBytes) + " bytes of text");
  nodes_ += size.nodes;
  text_bytes_ += size.text_bytes;
}

void SizeBudget::remove(const TreeSize& size) {
  nodes_ -= std::min(nodes_, size.nodes);
  text_bytes_ -= std::min(text_bytes_, size.text_bytes);
}

}  // namespace sg::recipe_detail
