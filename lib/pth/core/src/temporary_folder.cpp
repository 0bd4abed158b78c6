#include "pth/temporary_folder.hpp"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "pth/error.hpp"

namespace pth {

TemporaryFolder::TemporaryFolder(const std::string& prefix, const std::string& parent) {
  const char* tmp = std::getenv("TMPDIR");
  const std::string folder = !parent.empty() ? parent : tmp && *tmp ? tmp : "/tmp";
  std::string pattern = folder + "/" + prefix + "XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw Error("cannot make a temporary folder " + pattern + ": " + std::strerror(errno));
  path_ = pattern;
}

TemporaryFolder::~TemporaryFolder() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace pth
