#pragma once
#include <string>

#include "pth/bytes.hpp"

namespace pth {

// Writes a file so that `target` is either its old content or the complete new content,
// whatever happens: data goes to a temp file in the same folder (".<name>.tmp-<pid>-<n>"),
// is flushed and fsynced, renamed over the target, and the folder is fsynced.
// If anything fails, or commit() is never called, the temp file is removed and the
// target is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string target);  // throws pth::Error if the temp file cannot be made
  ~AtomicFile();                            // discards unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(ByteView bytes);               // full write or pth::Error (e.g. disk full)
  // Overwrites bytes already written (a header patched after its data); no size change.
  void write_at(uint64_t offset, ByteView bytes);
  uint64_t position() const { return written_; }
  void commit();                            // fsync, rename, fsync folder
  const std::string& target() const { return target_; }

  // Prefix shared by every temp name, so that tools can find and clean leftovers.
  static bool is_temp_name(const std::string& file_name);

 private:
  std::string target_;
  std::string temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace pth
