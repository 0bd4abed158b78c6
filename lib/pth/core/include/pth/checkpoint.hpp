#pragma once
// Reading and writing torch.save checkpoints (zip and legacy). What is accepted, and what
// is refused, is specified once in lib/pth/FORMAT.md.
#include <memory>
#include <string>
#include <vector>

#include "pth/folder.hpp"
#include "pth/mapped_file.hpp"
#include "pth/pickle_reader.hpp"
#include "pth/value.hpp"
#include "pth/zip_reader.hpp"

namespace pth {

enum class CheckpointFormat { Zip, Legacy };

// A checkpoint read from disk: the value tree, with tensors whose storages point into the
// mapped file. Tensor data is not touched until Storage::data->bytes() is called.
struct Checkpoint {
  std::string path;
  CheckpointFormat format = CheckpointFormat::Zip;
  std::string root_name;          // zip root folder ("archive", "model", ...)
  int version = 0;                // zip: the `version` record; legacy: protocol (1001)
  Value root;
  std::vector<std::shared_ptr<Storage>> storages;   // in order of first use
  std::shared_ptr<const MappedFile> file;
  std::shared_ptr<const ZipReader> zip;             // null for legacy files
};

struct ReadOptions {
  PickleLimits limits;
};

// Reads a torch.save file (zip or legacy). Checks every structural rule: one root folder,
// version present and 1..10, data.pkl present, every storage record present and at least
// as long as its storage, every tensor view inside its storage, no overflow in sizes.
// Throws pth::FormatError / pth::UnsafeError with a one-line reason (without the path).
Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options = {});
// The same, from a file already mapped (a stand-in for a remote file: only the parts read
// are fetched, see MappedFile::open_stand_in).
Checkpoint read_checkpoint(std::shared_ptr<const MappedFile> file, const ReadOptions& options = {});

std::string_view format_name(CheckpointFormat f);   // "zip", "legacy"

// Extra verification beyond read_checkpoint: CRC of every zip entry, no stray records.
// Returns the problems found (empty when the file is sound).
std::vector<std::string> verify_checkpoint(const Checkpoint& ckpt);

struct WriteOptions {
  std::string root_name;     // default: the target file's stem, as torch.save does
  uint64_t alignment = 64;
  bool replace = true;       // false: fail rather than replace a file that appeared meanwhile
};

// Writes `root` as a torch.save zip file, atomically. Storages are written in order of
// first use as records "0", "1", ...; views of one storage stay views of one record.
// Tensor data comes straight from each Storage's data (no intermediate copy).
void write_checkpoint(const std::string& path, const Value& root, const WriteOptions& options = {});
// The same, as `name` inside `folder` (no link followed).
void write_checkpoint(const Folder& folder, const std::string& name, const Value& root, const WriteOptions& options = {});

}  // namespace pth
