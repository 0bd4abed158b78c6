#include "internal/legacy_reader.hpp"

#include "internal/storage_registry.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/torch_unpickler.hpp"

namespace pth::detail {
namespace {

// 0x1950a86a20f9469cfc6c, the first object of every legacy file.
constexpr const char* kMagicNumber = "119547037146038801333356";
constexpr int64_t kProtocolVersion = 1001;

// Reads one pickle from `bytes` starting at `offset`, advancing it.
Value next_pickle(ByteView bytes, size_t& offset, PickleHooks& hooks, const ReadOptions& options, const char* what) {
  if (offset >= bytes.size) throw FormatError(std::string("truncated legacy file: missing ") + what);
  size_t used = 0;
  Value v = unpickle(bytes.sub(offset, bytes.size - offset), hooks, options.limits, &used);
  offset += used;
  return v;
}

}  // namespace

bool has_legacy_signature(ByteView head) { return head.size >= 2 && head.data[0] == 0x80 && head.data[1] >= 2 && head.data[1] <= 5; }

void read_legacy(Checkpoint& ckpt, const ReadOptions& options) {
  // Pickles and storages follow each other with no index: the reader needs all of it.
  ckpt.file->load(0, ckpt.file->view().size);
  const ByteView bytes = ckpt.file->view();
  size_t offset = 0;
  TorchPickleHooks no_storages([](const Value&) -> Value { throw FormatError("unexpected persistent id in legacy header"); });

  Value magic = next_pickle(bytes, offset, no_storages, options, "magic number");
  if (magic.kind() != Value::Kind::BigInt || magic.as_string() != kMagicNumber)
    throw FormatError("not a PyTorch checkpoint (legacy magic number missing)");
  Value protocol = next_pickle(bytes, offset, no_storages, options, "protocol version");
  if (!protocol.is_int() || protocol.as_int() != kProtocolVersion)
    throw FormatError("unsupported legacy protocol version");
  Value sys_info = next_pickle(bytes, offset, no_storages, options, "system info");
  if (!sys_info.is_dict()) throw FormatError("legacy system info is not a dict");
  if (const Value* little = sys_info.as_dict().find("little_endian"); little && little->is_bool() && !little->as_bool())
    throw FormatError("big-endian checkpoints are not supported");

  StorageRegistry registry;
  TorchPickleHooks hooks([&](const Value& pid) {
    StorageId id = parse_storage_pid(pid, 6);
    if (!pid.items()[5].is_none()) throw FormatError("legacy storage views are not supported");
    return Value::storage(registry.get(id));
  });
  ckpt.root = next_pickle(bytes, offset, hooks, options, "object");
  Value keys = next_pickle(bytes, offset, no_storages, options, "storage key list");
  if (keys.kind() != Value::Kind::List) throw FormatError("legacy storage key list is not a list");

  // Each listed storage: an int64 element count, then its raw bytes.
  std::unordered_map<std::string, std::shared_ptr<Storage>> by_key;
  for (auto& s : registry.in_order()) by_key.emplace(s->key, s);
  for (const Value& key : keys.items()) {
    if (!key.is_string()) throw FormatError("legacy storage key is not a str");
    auto found = by_key.find(key.as_string());
    if (found == by_key.end()) throw FormatError("legacy storage " + quoted(key.as_string()) + " is not used by the object");
    Storage& s = *found->second;
    if (s.data) throw FormatError("legacy storage " + quoted(key.as_string()) + " is listed twice");
    if (bytes.size - offset < 8) throw FormatError("truncated legacy file: storage '" + s.key + "' missing");
    const uint64_t count = load_le64(bytes.data + offset);
    offset += 8;
    if (count != uint64_t(s.numel))
      throw FormatError("legacy storage '" + s.key + "' holds " + std::to_string(count) + " elements, expected " +
                        std::to_string(s.numel));
    if (bytes.size - offset < s.nbytes()) throw FormatError("truncated legacy file: storage '" + s.key + "' is cut short");
    s.data = std::make_shared<MemoryStorageData>(bytes.sub(offset, s.nbytes()), ckpt.file);
    offset += s.nbytes();
  }
  for (const auto& s : registry.in_order())
    if (!s->data) throw FormatError("legacy storage '" + s->key + "' has no data");
  check_tensor_views(ckpt.root);
  ckpt.storages = std::move(registry.in_order());
  ckpt.version = int(kProtocolVersion);
}

}  // namespace pth::detail
