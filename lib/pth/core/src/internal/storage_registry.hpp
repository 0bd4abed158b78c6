#pragma once
// Shared by the zip and legacy readers: turning persistent ids into Storage objects and
// checking that every tensor fits inside the storage it views.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "pth/value.hpp"

namespace pth::detail {

struct StorageId {
  DType dtype;
  std::string key;
  std::string location;
  int64_t numel;
};

// Parses ('storage', <storage class>, key, location, numel[, view_metadata]) and checks
// each field; `fields` is 5 for zip files and 6 for legacy files.
StorageId parse_storage_pid(const Value& pid, size_t fields);

// One Storage per key, in order of first use; the same key always maps to the same
// object (views share it), and conflicting declarations of one key are refused.
class StorageRegistry {
 public:
  std::shared_ptr<Storage> get(const StorageId& id);
  std::vector<std::shared_ptr<Storage>>& in_order() { return order_; }

 private:
  std::unordered_map<std::string, std::shared_ptr<Storage>> by_key_;
  std::vector<std::shared_ptr<Storage>> order_;
};

// Throws FormatError naming the tensor's path if its shape/stride/offset overflow or
// reach outside its storage.
void check_tensor_views(const Value& root);

}  // namespace pth::detail
