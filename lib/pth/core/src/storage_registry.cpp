#include "internal/storage_registry.hpp"

#include <unordered_set>

#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/tensor_walk.hpp"

namespace pth::detail {

namespace {
bool safe_record_key(const std::string& key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}
}  // namespace

StorageId parse_storage_pid(const Value& pid, size_t fields) {
  if (pid.kind() != Value::Kind::Tuple || pid.items().size() != fields)
    throw FormatError("persistent id is not a " + std::to_string(fields) + "-tuple");
  const List& f = pid.items();
  if (!f[0].is_string() || f[0].as_string() != "storage") throw FormatError("persistent id is not a storage");
  if (f[1].kind() != Value::Kind::Global) throw FormatError("storage type is not a class");
  const GlobalRef& cls = f[1].as_global();
  auto dtype = cls.module == "torch" ? dtype_from_storage_class(cls.name) : std::nullopt;
  if (!dtype) throw FormatError("unsupported storage class " + quoted(cls.module + "." + cls.name));
  if (!f[2].is_string() || !safe_record_key(f[2].as_string()))
    throw FormatError("storage key is not a plain record name");
  if (!f[3].is_string() || f[3].as_string().size() > 64) throw FormatError("storage location is not a device name");
  if (!f[4].is_int() || f[4].as_int() < 0) throw FormatError("storage size is not a non-negative int");
  const int64_t numel = f[4].as_int();
  if (uint64_t(numel) > (uint64_t(1) << 62) / dtype_size(*dtype))
    throw FormatError("storage '" + f[2].as_string() + "' size overflows");
  return {*dtype, f[2].as_string(), f[3].as_string(), numel};
}

std::shared_ptr<Storage> StorageRegistry::get(const StorageId& id) {
  auto found = by_key_.find(id.key);
  if (found != by_key_.end()) {
    const Storage& s = *found->second;
    if (s.dtype != id.dtype || s.numel != id.numel || s.device != id.location)
      throw FormatError("storage '" + id.key + "' is declared twice with different types or sizes");
    return found->second;
  }
  auto s = std::make_shared<Storage>();
  s->dtype = id.dtype;
  s->numel = id.numel;
  s->key = id.key;
  s->device = id.location;
  by_key_.emplace(id.key, s);
  order_.push_back(s);
  return s;
}

void check_tensor_views(const Value& root) {
  constexpr uint64_t kMaxElements = uint64_t(1) << 62;
  // Hashing, statistics and conversion read every element of every tensor, so their work
  // is the tensors' logical size. Stride-0 and overlapping views (or one storage viewed by
  // many tensors) can make that unbounded for a small file: allow at most 4x the storage
  // data plus 16 MiB (ordinary sharing, such as tied weights, stays far below).
  constexpr unsigned __int128 kRepeatFactor = 4, kRepeatSlack = 16u << 20;
  unsigned __int128 logical_bytes = 0, storage_bytes = 0;
  std::unordered_set<const Storage*> storages;
  std::vector<const Tensor*> tensors;   // paths are found only for a message
  visit_values(root, [&](const Value& v) {
    if (v.is_tensor()) tensors.push_back(v.as_tensor().get());
    return true;
  });
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor* t = tensors[i];
    auto fail = [&](const std::string& why) {
      throw FormatError("tensor " + quoted(collect_tensors(root)[i].path) + ": " + why);
    };
    if (!t->storage) fail("has no storage");
    if (t->shape.size() != t->stride.size()) fail("shape and stride differ in length");
    if (t->storage_offset < 0) fail("negative storage offset");
    uint64_t numel = 1;
    unsigned __int128 last = uint64_t(t->storage_offset);
    for (size_t d = 0; d < t->shape.size(); ++d) {
      if (t->shape[d] < 0) fail("negative size");
      if (t->stride[d] < 0) fail("negative stride");
      if (t->shape[d] != 0 && numel > kMaxElements / uint64_t(t->shape[d])) fail("element count overflows");
      numel *= uint64_t(t->shape[d]);
    }
    if (numel == 0) continue;
    for (size_t d = 0; d < t->shape.size(); ++d)
      last += static_cast<unsigned __int128>(t->shape[d] - 1) * uint64_t(t->stride[d]);
    const unsigned __int128 needed_bytes = (last + 1) * dtype_size(t->dtype);
    if (needed_bytes > t->storage->nbytes())
      fail("view reaches element " + std::to_string(uint64_t(last)) + " but its storage '" + t->storage->key +
           "' holds " + std::to_string(t->storage->numel));
    logical_bytes += static_cast<unsigned __int128>(numel) * dtype_size(t->dtype);
    if (storages.insert(t->storage.get()).second) storage_bytes += t->storage->nbytes();
    if (logical_bytes > kRepeatFactor * storage_bytes + kRepeatSlack)
      fail("expanded or repeated views reach " + std::to_string(uint64_t(logical_bytes)) + " bytes of elements from " +
           std::to_string(uint64_t(storage_bytes)) + " bytes of storage data (limit: 4x the storage data + 16 MiB)");
  }
}

}  // namespace pth::detail
