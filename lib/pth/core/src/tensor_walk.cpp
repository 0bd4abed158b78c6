#include "pth/tensor_walk.hpp"

namespace pth {

std::string join_path(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "/" + child;
}

namespace {
// Depth is bounded by the reader's nesting limit, so recursion is safe here.
void walk(const std::string& path, const Value& v, const std::function<bool(const std::string&, const Value&)>& visit) {
  if (!visit(path, v)) return;
  if (v.is_dict()) {
    for (const auto& [k, item] : v.as_dict().items) walk(join_path(path, key_to_string(k)), item, visit);
  } else if (v.is_sequence()) {
    const List& items = v.items();
    for (size_t i = 0; i < items.size(); ++i) walk(join_path(path, std::to_string(i)), items[i], visit);
  }
}
void visit(const Value& v, const std::function<bool(const Value&)>& visit_value) {
  if (!visit_value(v)) return;
  if (v.is_dict()) {
    for (const auto& item : v.as_dict().items) visit(item.second, visit_value);
  } else if (v.is_sequence()) {
    for (const Value& item : v.items()) visit(item, visit_value);
  }
}
}  // namespace

void visit_values(const Value& root, const std::function<bool(const Value& v)>& visit_value) { visit(root, visit_value); }

void walk_values(const Value& root, const std::function<bool(const std::string& path, const Value& v)>& visit) {
  walk("", root, visit);
}

std::vector<TensorAt> collect_tensors(const Value& root) {
  std::vector<TensorAt> out;
  walk_values(root, [&](const std::string& path, const Value& v) {
    if (v.is_tensor()) out.push_back({path, v.as_tensor()});
    return true;
  });
  return out;
}

}  // namespace pth
