#pragma once
// torch.save's pickle: persistent ids, storages and tensor rebuilds, as specified in
// lib/pth/FORMAT.md.
#include <functional>

#include "pth/pickle_reader.hpp"

namespace pth {

// The allow-list of what a torch.save pickle may name, and what each means:
//   collections.OrderedDict            -> Dict{ordered}; BUILD sets `_metadata` only
//   torch._utils._rebuild_tensor_v2    -> Tensor (args checked: storage, offset, size,
//                                         stride, requires_grad, hooks[, metadata])
//   torch._utils._rebuild_tensor_v3    -> Tensor, dtype from the last argument
//   torch._utils._rebuild_parameter    -> the tensor, is_parameter = true
//   torch.<X>Storage, torch.storage.UntypedStorage -> storage class names in persistent ids
//   torch.Size                         -> Tuple of ints
//   torch.<dtype> (torch.float32, ...)  -> Value::global
//   _codecs.encode(str, "latin1")      -> Bytes
// Anything else is refused: UnsafeError("refused global os.system").
// persistent ids are passed to `load_storage`, which turns them into a Storage value.
class TorchPickleHooks : public PickleHooks {
 public:
  using StorageLoader = std::function<Value(const Value& pid)>;
  explicit TorchPickleHooks(StorageLoader load_storage) : load_storage_(std::move(load_storage)) {}

  Value find_global(const std::string& module, const std::string& name) override;
  Value reduce(const Value& callable, const Value& args) override;
  void build(Value& obj, const Value& state) override;
  Value persistent_load(const Value& pid) override { return load_storage_(pid); }

 private:
  StorageLoader load_storage_;
};

}  // namespace pth
