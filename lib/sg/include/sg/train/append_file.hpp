#pragma once
// A file of a run that grows by whole records (log lines, TensorBoard events): each
// append is written completely or not at all, so a full disk never leaves half a record,
// and the failure is a RunWriteError naming the file.
#include <string>

#include "pth/folder.hpp"

namespace sg {

class AppendFile {
 public:
  enum class Mode { CreateNew, Append };
  // `name` inside `folder`, never through a link. CreateNew fails if the name exists.
  // Throws RunWriteError.
  AppendFile(const pth::Folder& folder, const std::string& name, Mode mode);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  void append(const std::string& bytes);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  off_t size_ = 0;   // the end of the last complete record
};

}  // namespace sg
