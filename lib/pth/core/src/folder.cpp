#include "pth/folder.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pth/error.hpp"

namespace pth {
namespace {

constexpr size_t kNameMax = 255;   // NAME_MAX of Linux file systems

std::string reason(int err) {
  return err == ELOOP ? "it is a symbolic link (not followed)" : std::strerror(err);
}

std::shared_ptr<const int> own(int fd) {
  return std::shared_ptr<const int>(new int(fd), [](const int* p) {
    ::close(*p);
    delete p;
  });
}

}  // namespace

Folder Folder::open(const std::string& path, const std::string& failure) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(failure + " " + path + ": " + std::strerror(errno));
  return Folder(own(fd), path);
}

Folder Folder::child(const std::string& name, bool create) const {
  const std::string shown = path_of(name);
  if (create && ::mkdirat(fd(), name.c_str(), 0777) != 0 && errno != EEXIST)
    throw Error("cannot create folder " + shown + ": " + std::strerror(errno));
  const int fd = ::openat(this->fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    // A link fails O_DIRECTORY | O_NOFOLLOW with ELOOP or ENOTDIR: say which it was.
    const int err = errno;
    struct stat st;
    const bool link = ::fstatat(this->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    throw Error("cannot open folder " + shown + ": " + (link ? reason(ELOOP) : reason(err)));
  }
  return Folder(own(fd), shown);
}

std::string Folder::path_of(const std::string& name) const {
  return path_.empty() || path_.back() == '/' ? path_ + name : path_ + "/" + name;
}

int Folder::open_file(const std::string& name, int flags, mode_t mode) const {
  return ::openat(fd(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

bool Folder::exists(const std::string& name) const {
  struct stat st;
  return ::fstatat(fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool Folder::is_regular_file(const std::string& name) const {
  struct stat st;
  return ::fstatat(fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> Folder::list() const {
  std::vector<std::string> names;
  const int fd = ::openat(this->fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot list " + path_ + ": " + std::strerror(errno));
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    ::close(fd);
    throw Error("cannot list " + path_ + ": " + std::strerror(errno));
  }
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

bool Folder::remove(const std::string& name) const { return ::unlinkat(fd(), name.c_str(), 0) == 0; }

void Folder::rename(const std::string& from, const std::string& to) const {
  if (::renameat(fd(), from.c_str(), fd(), to.c_str()) != 0)
    throw Error("cannot rename " + path_of(from) + " to " + to + ": " + std::strerror(errno));
  sync();
}

void Folder::sync() const {
  // Some file systems cannot fsync a folder (EINVAL); the data itself is synced already.
  if (::fsync(fd()) != 0 && errno != EINVAL) throw Error("fsync of folder " + path_ + " failed: " + std::strerror(errno));
}

std::string path_component_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name == "." || name == "..") return "'" + name + "' is not a name of its own";
  if (name.find('/') != std::string::npos) return "contains '/' (it must be a single name, not a path)";
  if (name.find('\0') != std::string::npos) return "contains a NUL byte";
  if (name.size() > kNameMax)
    return "is " + std::to_string(name.size()) + " bytes long (at most " + std::to_string(kNameMax) + ")";
  return {};
}

}  // namespace pth
