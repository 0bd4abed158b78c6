// Recipe YAML parsed only once its expanded size is known to be bounded. A loaded yaml-cpp tree
// shares each anchored node among its aliases, so a few hundred bytes of nested aliases
// stand for billions of nodes, which any copy, merge or emission then builds. The size is
// measured from the parser's events instead: each anchored node's size is kept (anchors
// are node identities), and an alias adds that size without expanding anything. Tags are
// text too: every copy of a node copies its tag.
#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <yaml-cpp/eventhandler.h>

#include "bounds.hpp"
#include "recipe_detail.hpp"

namespace sg::recipe_detail {
namespace {

class ExpansionMeter : public YAML::EventHandler {
 public:
  explicit ExpansionMeter(const std::string& what) : what_(what) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 0); }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, const std::string& value) override {
    leaf(mark, anchor, tag.size() + value.size());
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    // The parser refuses unknown anchors, so one not closed yet is still open: around us.
    const auto named = closed_anchors_.find(anchor);
    if (named == closed_anchors_.end()) throw RecipeError(at(mark) + "alias refers to a node that contains it");
    aliased_ = true;
    add(mark, named->second);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, tag.size());
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, tag.size());
  }
  void OnMapEnd() override { close(); }

  bool aliased() const { return aliased_; }

 private:
  struct OpenCollection {
    YAML::anchor_t anchor;
    TreeSize size;  // so far
  };

  std::string at(const YAML::Mark& mark) const { return what_ + ": line " + std::to_string(mark.line + 1) + ": "; }

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t text_bytes) {
    const TreeSize size{1, text_bytes, 0};
    add(mark, size);
    if (anchor) closed_anchors_[anchor] = size;
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t text_bytes) {
    if (open_.size() >= kMaxDepth) too_deep(mark);
    count({1, text_bytes, 0});
    open_.push_back({anchor, {1, text_bytes, 1}});
  }

  void close() {
    const OpenCollection done = open_.back();
    open_.pop_back();
    if (done.anchor) closed_anchors_[done.anchor] = done.size;
    if (!open_.empty()) fold(open_.back().size, done.size);
  }

  // A scalar, or an alias standing for a whole subtree, inside the innermost collection.
  void add(const YAML::Mark& mark, const TreeSize& size) {
    if (open_.size() + size.depth > kMaxDepth) too_deep(mark);
    count(size);
    if (!open_.empty()) fold(open_.back().size, size);
  }

  static void fold(TreeSize& parent, const TreeSize& child) {
    parent.nodes += child.nodes;
    parent.text_bytes += child.text_bytes;
    parent.depth = std::max(parent.depth, child.depth + 1);
  }

  // Every size added is at most the total so far, itself within the bounds: no overflow.
  void count(const TreeSize& size) {
    total_.nodes += size.nodes;
    total_.text_bytes += size.text_bytes;
    const char* grows = aliased_ ? ": aliases expand to more than " : ": more than ";
    if (total_.nodes > kMaxNodes) throw RecipeError(what_ + grows + std::to_string(kMaxNodes) + " nodes");
    if (total_.text_bytes > kMaxTextBytes)
      throw RecipeError(what_ + grows + std::to_string(kMaxTextBytes) + " bytes of text");
  }

  [[noreturn]] void too_deep(const YAML::Mark& mark) const {
    throw RecipeError(at(mark) + "nested more than " + std::to_string(kMaxDepth) + " levels deep");
  }

  const std::string& what_;
  std::vector<OpenCollection> open_;
  std::unordered_map<YAML::anchor_t, TreeSize> closed_anchors_;
  TreeSize total_;
  bool aliased_ = false;
};

// A fresh node of `node`'s type, tag and text, without children.
YAML::Node shell_of(const YAML::Node& node) {
  YAML::Node copy = node.IsScalar() ? YAML::Node(node.Scalar()) : YAML::Node(node.Type());
  if (node.IsDefined() && !node.IsNull()) copy.SetTag(node.Tag());
  return copy;
}

// Gives `copy`, a shell of `node`, copies of node's children. Each child is attached
// before it is filled: yaml-cpp merges an attached node's memory into its parent's, so a
// tree built from the leaves up would be merged again at every level above each node.
void fill_unshared(const YAML::Node& node, YAML::Node& copy) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      YAML::Node key = shell_of(kv.first), value = shell_of(kv.second);
      copy.force_insert(key, value);
      fill_unshared(kv.first, key);
      fill_unshared(kv.second, value);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      YAML::Node child = shell_of(item);
      copy.push_back(child);
      fill_unshared(item, child);
    }
  }
}

// A copy in which each alias is a node of its own. yaml-cpp's Load and Clone keep an
// anchored node shared by its aliases, so that an override or a merge writing through one
// place of the tree would change the others too.
YAML::Node unshared(const YAML::Node& node) {
  YAML::Node copy = shell_of(node);
  fill_unshared(node, copy);
  return copy;
}

}  // namespace

YAML::Node parse_recipe_yaml(const std::string& text, const std::string& what) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  ExpansionMeter meter(what);
  parser.HandleNextDocument(meter);
  const YAML::Node doc = YAML::Load(text);
  check_core_tags(doc, what);  // while the nodes still have their line numbers
  return meter.aliased() ? unshared(doc) : doc;
}

}  // namespace sg::recipe_detail
