#pragma once
// A remote file brought to local disk for the readers, which map what they read. The copy
// lives in a private temporary folder (under $TMPDIR) that goes with the object.
#include <string>

#include "remote/location.hpp"
#include "remote/rclone.hpp"

namespace remote {

// A private temporary folder under $TMPDIR, removed with everything in it on destruction:
// where a file meant for a remote location is written before it is uploaded.
class ScratchFolder {
 public:
  ScratchFolder();   // throws RemoteError if it cannot be made
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  // `name` (a file name, no folders) inside the folder.
  std::string file(const std::string& name) const;

 private:
  std::string dir_;
};

class LocalCopy {
 public:
  // Downloads `from`; throws RemoteError (what() names `from` and rclone's reason).
  LocalCopy(const Location& from, const Rclone& rclone);
  const std::string& path() const { return path_; }

 private:
  ScratchFolder folder_;
  std::string path_;
};

// The last part of a location's path: the file name a copy of it is given.
std::string file_name_of(const Location& where);

}  // namespace remote
