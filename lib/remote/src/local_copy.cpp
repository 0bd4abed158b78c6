#include "remote/local_copy.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "remote/remote_error.hpp"

namespace remote {

ScratchFolder::ScratchFolder() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/sg-remote-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw RemoteError("cannot make a temporary folder " + pattern + ": " + std::strerror(errno));
  dir_ = pattern;
}

ScratchFolder::~ScratchFolder() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string ScratchFolder::file(const std::string& name) const { return dir_ + "/" + name; }

std::string file_name_of(const Location& where) {
  const size_t cut = where.path.find_last_of("/:");
  const std::string name = cut == std::string::npos ? where.path : where.path.substr(cut + 1);
  return name.empty() || name == "." || name == ".." ? "download" : name;
}

LocalCopy::LocalCopy(const Location& from, const Rclone& rclone) : path_(folder_.file(file_name_of(from))) {
  rclone.download(from, path_);
}

}  // namespace remote
