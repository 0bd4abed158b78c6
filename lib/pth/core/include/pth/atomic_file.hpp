#pragma once
#include <string>

#include "pth/bytes.hpp"
#include "pth/folder.hpp"

namespace pth {

// Writes a file so that `target` is either its old content or the complete new content,
// whatever happens: data goes to a temp file in the same folder (".<name>.tmp-<pid>-<n>"),
// is flushed and fsynced, renamed over the target, and the folder is fsynced.
// If anything fails, or commit() is never called, the temp file is removed and the
// target is untouched; temp files for the same target left by writers that are no longer
// running (killed) are removed when the next one starts. With `replace` false, commit() fails instead of replacing a file
// that appeared under the target's name meanwhile.
class AtomicFile {
 public:
  // A path: its folder is found as usual (links included). Throws pth::Error if the temp
  // file cannot be made.
  explicit AtomicFile(const std::string& target, bool replace = true);
  // A name inside `folder`, reached without following links.
  AtomicFile(const Folder& folder, const std::string& name, bool replace = true);
  ~AtomicFile();                            // discards unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(ByteView bytes);               // full write or pth::Error (e.g. disk full)
  // Overwrites bytes already written (a header patched after its data); no size change.
  void write_at(uint64_t offset, ByteView bytes);
  uint64_t position() const { return written_; }
  void commit();                            // fsync, rename, fsync folder
  const std::string& target() const { return target_; }   // the path, for messages

  // Gives the file `existing` in `folder` the further name `name`, as atomically as a
  // write: a hard link made under a temp name and renamed over `name`, or, on a file system
  // without hard links, a copy written and committed like any AtomicFile. One file written
  // once then carries several names (a checkpoint that is both the best and the latest).
  // Throws pth::Error.
  static void add_name(const Folder& folder, const std::string& existing, const std::string& name);

  // Prefix shared by every temp name, so that tools can find and clean leftovers.
  static bool is_temp_name(const std::string& file_name);
  // Removes the temp files in `folder` whose writer is no longer running (for
  // `target_name` only, or for every target when it is empty). Links are removed, never
  // followed.
  static void remove_leftovers(const Folder& folder, const std::string& target_name = {});

 private:
  void create_temp();
  void rename_into_place();   // the temp file, complete and closed, becomes the target
  void start_writeback();
  void copy_from(const std::string& existing);
  void release_temp() noexcept;

  Folder folder_;
  std::string name_;
  std::string target_;
  std::string temp_;
  bool replace_;
  int fd_ = -1;
  int pending_slot_ = -1;
  uint64_t written_ = 0;
  uint64_t writeback_from_ = 0;   // bytes before it are on their way to the disk
  bool committed_ = false;
};

// Removes the temp files of every AtomicFile of this process that is not committed yet.
// Async-signal-safe: for handlers of fatal signals, so that a killed program leaves none.
void remove_pending_temp_files() noexcept;

// Fault injection for tests of crash safety: called around the rename of every commit.
// A hook may throw pth::Error before the rename (a failed write) or end the process.
enum class CommitStage { BeforeRename, AfterRename };
using CommitHook = void (*)(CommitStage stage, const std::string& target);
void set_commit_hook(CommitHook hook);

}  // namespace pth
