// The pickle VM with the torch allow-list hooks, persistent ids resolved as the zip reader
// does (storage ids parsed and registered), then the tensor views checked and walked.
#include <cstring>
#include <memory>
#include <vector>

#include "internal/storage_registry.hpp"
#include "pth/error.hpp"
#include "pth/tensor_walk.hpp"
#include "pth/torch_unpickler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    pth::detail::StorageRegistry registry;
    pth::TorchPickleHooks hooks([&](const pth::Value& pid) {
      const pth::detail::StorageId id = pth::detail::parse_storage_pid(pid, 5);
      std::shared_ptr<pth::Storage> storage = registry.get(id);
      if (!storage->data && storage->nbytes() <= (1u << 20)) {   // zero-filled stand-in data
        auto bytes = std::make_shared<std::vector<uint8_t>>(storage->nbytes());
        storage->data = std::make_shared<pth::MemoryStorageData>(pth::ByteView(bytes->data(), bytes->size()), bytes);
      }
      return pth::Value::storage(storage);
    });
    size_t consumed = 0;
    const pth::Value root = pth::unpickle(pth::ByteView(data, size), hooks, {}, &consumed);
    if (consumed == 0 || consumed > size) __builtin_trap();
    pth::detail::check_tensor_views(root);
    size_t nodes = 0;
    pth::walk_values(root, [&](const std::string&, const pth::Value&) { return ++nodes < 1'000'000; });
    for (const pth::TensorAt& t : pth::collect_tensors(root)) (void)t.tensor->nbytes();
  } catch (const pth::Error&) {
  }
  return 0;
}
