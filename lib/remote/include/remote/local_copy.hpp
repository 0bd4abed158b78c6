#pragma once
// A remote file brought to local disk for the readers, which map what they read: whole, or
// in the parts the readers touch. The copy lives in a private temporary folder (under
// $TMPDIR) that goes with the object.
#include <cstdint>
#include <memory>
#include <string>

#include "pth/mapped_file.hpp"
#include "pth/temporary_folder.hpp"
#include "remote/location.hpp"
#include "remote/rclone.hpp"

namespace remote {

class LocalCopy {
 public:
  // Downloads `from`; throws RemoteError (what() names `from` and rclone's reason).
  LocalCopy(const Location& from, const Rclone& rclone);
  const std::string& path() const { return path_; }

 private:
  pth::TemporaryFolder folder_{"sg-remote-"};
  std::string path_;
};

// A stand-in as large as the remote file whose blocks are fetched (one ranged read per run
// of missing blocks) the first time a reader loads them: reading a zip's end records,
// central directory and pickle costs a few hundred kilobytes of a file of any size.
class PartialCopy {
 public:
  // Asks the file's size; throws RemoteError (naming `from`) when it is not a file.
  PartialCopy(const Location& from, const Rclone& rclone);
  // Its pth::Error / RemoteError name the stand-in's path; the mapping keeps what it needs
  // to go on fetching, so it may outlive this object.
  const std::shared_ptr<const pth::MappedFile>& file() const { return file_; }
  uint64_t bytes_fetched() const;

  // Small enough that a listing costs little, large enough that neighbouring small records
  // (a local header and the pickle after it) come in one ranged read.
  static constexpr uint64_t kBlockBytes = uint64_t(64) << 10;

  class Blocks;   // what has been fetched, and fetching the rest

 private:
  pth::TemporaryFolder folder_{"sg-remote-"};
  std::shared_ptr<Blocks> blocks_;
  std::shared_ptr<const pth::MappedFile> file_;
};

// The file name a local copy of `where` is given: its last part, or "download".
std::string file_name_of(const Location& where);

}  // namespace remote
