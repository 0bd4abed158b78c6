#pragma once
#include <functional>
#include <string>
#include <vector>

#include "pth/value.hpp"

namespace pth {

// A tensor met while walking a value tree, with its path: container keys joined by "/",
// list and tuple items by index ("net/conv1.weight", "optimizer_state_dict/state/0/momentum_buffer").
struct TensorAt {
  std::string path;
  std::shared_ptr<Tensor> tensor;
};

// Every tensor under `root`, in the order the tree holds them.
std::vector<TensorAt> collect_tensors(const Value& root);

// Calls `visit(path, value)` for every node under root (root itself has path "").
// Returning false from visit skips that node's children.
void walk_values(const Value& root, const std::function<bool(const std::string& path, const Value& v)>& visit);

// The same walk without paths, for walks that do not report where things are.
void visit_values(const Value& root, const std::function<bool(const Value& v)>& visit);

std::string join_path(const std::string& parent, const std::string& child);

}  // namespace pth
