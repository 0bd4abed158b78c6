#pragma once
// An open folder whose files are reached by name only: every name is opened with
// O_NOFOLLOW (sub-folders too) and removing a name never follows a link, so a symbolic
// link planted inside cannot redirect a write or a delete to somewhere else. The folder
// itself may be reached through links in the path the user gave.
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace pth {

class Folder {
 public:
  // Throws pth::Error "<failure> <path>: <reason>".
  static Folder open(const std::string& path, const std::string& failure = "cannot open folder");
  // The sub-folder `name`, made first when `create`; a link in its place is refused.
  Folder child(const std::string& name, bool create) const;

  const std::string& path() const { return path_; }
  std::string path_of(const std::string& name) const;   // for messages
  int fd() const { return *fd_; }

  // open(2) of `name` here, with O_NOFOLLOW | O_CLOEXEC added: -1 and errno on failure.
  int open_file(const std::string& name, int flags, mode_t mode = 0644) const;
  bool exists(const std::string& name) const;            // a link counts, unfollowed
  bool is_regular_file(const std::string& name) const;   // not through a link
  std::vector<std::string> list() const;                 // names, without . and ..
  // unlinkat: a link is removed itself. False (errno set) if it could not be removed.
  bool remove(const std::string& name) const;
  // renameat inside this folder (replacing `to`), then the folder synced.
  void rename(const std::string& from, const std::string& to) const;
  void sync() const;   // fsync of the folder, so that renames in it are durable

 private:
  Folder(std::shared_ptr<const int> fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  std::shared_ptr<const int> fd_;   // closed with the last copy
  std::string path_;
};

// The reason a name from a recipe or a flag cannot name a file or folder of its own:
// empty, "." or "..", a '/', a NUL, or more than 255 bytes. Empty when it can.
std::string path_component_problem(const std::string& name);

}  // namespace pth
