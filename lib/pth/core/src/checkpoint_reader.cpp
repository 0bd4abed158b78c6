#include <atomic>
#include <mutex>

#include "internal/legacy_reader.hpp"
#include "internal/pickle_budget.hpp"
#include "internal/storage_registry.hpp"
#include "pth/checkpoint.hpp"
#include "pth/crc32.hpp"
#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/torch_unpickler.hpp"

namespace pth {
namespace {

// A stored zip entry, viewed in place in the mapped file (found when first used: a
// stand-in's local headers are read only then). Its CRC is checked once, over the whole
// record, the first time its data is used: by the first copy of the whole record over the
// bytes as they are copied (no second read), else by a pass over the mapping.
class StoredEntryData : public StorageData {
 public:
  StoredEntryData(std::shared_ptr<const ZipReader> zip, const ZipEntry& entry, size_t storage_bytes)
      : zip_(std::move(zip)), entry_(entry), storage_bytes_(storage_bytes) {}

  ByteView bytes() const override {
    if (!checked_.load(std::memory_order_acquire)) {
      zip_->check_crc(entry_);
      checked_.store(true, std::memory_order_release);
    }
    return zip_->stored_view(entry_).sub(0, storage_bytes_);
  }
  size_t size() const override { return storage_bytes_; }

  void copy_range(size_t offset, size_t size, void* dst) const override {
    if (offset > storage_bytes_ || size > storage_bytes_ - offset) throw FormatError("copy outside the storage record");
    const bool whole_record = offset == 0 && size == entry_.compressed_size;
    if (checked_.load(std::memory_order_acquire) || !whole_record) {
      const ByteView record = bytes();
      zip_->file()->read_into(record.sub(offset, size), dst);
      return;
    }
    uint32_t crc = 0;
    zip_->file()->read_into(zip_->stored_view(entry_), dst, [&](ByteView piece) { crc = crc32_update(crc, piece); });
    zip_->expect_crc(entry_, crc);
    checked_.store(true, std::memory_order_release);
  }

 private:
  std::shared_ptr<const ZipReader> zip_;
  const ZipEntry& entry_;       // owned by zip_; the storage is the record's first storage_bytes_
  size_t storage_bytes_;
  mutable std::atomic<bool> checked_{false};
};

// A deflated zip entry, inflated the first time its bytes are asked for.
class DeflatedEntryData : public StorageData {
 public:
  DeflatedEntryData(std::shared_ptr<const ZipReader> zip, ZipEntry entry) : zip_(std::move(zip)), entry_(std::move(entry)) {}
  ByteView bytes() const override {
    std::call_once(once_, [this] { inflated_ = zip_->read(entry_, entry_.uncompressed_size); });
    return {inflated_.data(), inflated_.size()};
  }
  size_t size() const override { return size_t(entry_.uncompressed_size); }   // bytes() gives exactly this or throws

 private:
  std::shared_ptr<const ZipReader> zip_;
  ZipEntry entry_;
  mutable std::once_flag once_;
  mutable std::vector<uint8_t> inflated_;
};

// What telling a checkpoint's format, or what else the file is, may look at.
constexpr size_t kHeadBytes = 512;

std::string describe_unknown(ByteView head) {
  const std::string_view text = head.sub(0, std::min<size_t>(head.size, kHeadBytes)).str();
  if (text.rfind("version https://git-lfs", 0) == 0)
    return "a git-lfs pointer file, not the checkpoint itself (run `git lfs pull`)";
  bool printable = true;
  for (unsigned char c : text)
    if (c < 0x09 || (c > 0x0d && c < 0x20)) printable = false;
  if (printable) return "not a PyTorch checkpoint (the file is text)";
  return "not a PyTorch checkpoint (neither a zip archive nor a legacy torch.save file)";
}

std::string root_of(const std::string& name) {
  size_t slash = name.find('/');
  if (slash == std::string::npos || slash == 0) throw FormatError("zip entry " + quoted(name) + " is not under a root folder");
  return name.substr(0, slash);
}

void check_entry_name(const std::string& name, const std::string& root) {
  if (name.compare(0, root.size() + 1, root + "/") != 0)
    throw FormatError("zip entries are not all under one root folder (" + quoted(root) + " and " + quoted(name) + ")");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string_view part(name.data() + start, end - start);
    if (part == ".." || part == "." || (part.empty() && end != name.size()))
      throw FormatError("zip entry name " + quoted(name) + " is not a plain path");
    start = end + 1;
  }
  if (name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
    throw FormatError("zip entry name " + quoted(name) + " is not a plain path");
}

int parse_version(const std::string& text) {
  std::string digits = text;
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == '\r')) digits.pop_back();
  if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos)
    throw FormatError("bad version record " + quoted(text, 16));
  int v = std::stoi(digits);
  if (v < 1 || v > 10) throw FormatError("unsupported format version " + digits);
  return v;
}

void read_zip(Checkpoint& ckpt, const ReadOptions& options) {
  auto zip = std::make_shared<const ZipReader>(ckpt.file);
  ckpt.zip = zip;
  if (zip->entries().empty()) throw FormatError("empty zip archive (no data.pkl)");
  const std::string root = root_of(zip->entries().front().name);
  for (const ZipEntry& e : zip->entries()) check_entry_name(e.name, root);
  ckpt.root_name = root;
  auto record = [&](const std::string& name) { return zip->find(root + "/" + name); };

  if (record("constants.pkl")) throw FormatError("a TorchScript archive (torch.jit.save), not a torch.save file");
  const ZipEntry* version = record(".data/version");
  if (!version) version = record("version");
  if (!version) throw FormatError("missing version record");
  ckpt.version = parse_version(std::string(reinterpret_cast<const char*>(zip->read(*version, 16).data()),
                                           std::min<uint64_t>(version->uncompressed_size, 16)));
  if (const ZipEntry* order = record("byteorder")) {
    auto text = zip->read(*order, 16);
    if (std::string(text.begin(), text.end()) != "little") throw FormatError("big-endian checkpoints are not supported");
  }
  const ZipEntry* pickle = record("data.pkl");
  if (!pickle) throw FormatError("missing data.pkl record");
  if (pickle->uncompressed_size > options.limits.max_pickle_bytes) throw FormatError("data.pkl is too large");
  detail::check_pickle_inflation(pickle->compressed_size, pickle->uncompressed_size, options.limits);
  const std::vector<uint8_t> pickle_bytes = zip->read(*pickle, options.limits.max_pickle_bytes);

  detail::StorageRegistry registry;
  TorchPickleHooks hooks([&](const Value& pid) {
    detail::StorageId id = detail::parse_storage_pid(pid, 5);
    std::shared_ptr<Storage> storage = registry.get(id);
    if (!storage->data) {
      const ZipEntry* data = record("data/" + id.key);
      if (!data) throw FormatError("missing storage record 'data/" + id.key + "'");
      if (data->uncompressed_size < storage->nbytes())
        throw FormatError("storage record 'data/" + id.key + "' holds " + std::to_string(data->uncompressed_size) +
                          " bytes but its storage needs " + std::to_string(storage->nbytes()));
      if (data->method == 0)
        storage->data = std::make_shared<StoredEntryData>(zip, *data, size_t(storage->nbytes()));
      else
        storage->data = std::make_shared<DeflatedEntryData>(zip, *data);
    }
    return Value::storage(storage);
  });
  ckpt.root = unpickle({pickle_bytes.data(), pickle_bytes.size()}, hooks, options.limits);
  detail::check_tensor_views(ckpt.root);
  ckpt.storages = std::move(registry.in_order());
}

}  // namespace

std::string_view format_name(CheckpointFormat f) { return f == CheckpointFormat::Zip ? "zip" : "legacy"; }

Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options) {
  return read_checkpoint(MappedFile::open(path), options);
}

Checkpoint read_checkpoint(std::shared_ptr<const MappedFile> file, const ReadOptions& options) {
  Checkpoint ckpt;
  ckpt.path = file->path();
  ckpt.file = std::move(file);
  ckpt.file->load(0, kHeadBytes);
  const ByteView head = ckpt.file->view();
  if (head.empty()) throw FormatError("empty file");
  if (ZipReader::has_zip_signature(head)) {
    ckpt.format = CheckpointFormat::Zip;
    read_zip(ckpt, options);
  } else if (detail::has_legacy_signature(head)) {
    ckpt.format = CheckpointFormat::Legacy;
    detail::read_legacy(ckpt, options);
  } else {
    throw FormatError(describe_unknown(head));
  }
  return ckpt;
}

}  // namespace pth
