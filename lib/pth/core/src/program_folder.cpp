#include "pth/program_folder.hpp"

#include <unistd.h>

#include <vector>

namespace pth {

std::string program_folder() {
  std::vector<char> buf(4096);
  for (;;) {
    const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size());
    if (n <= 0) return {};
    if (size_t(n) < buf.size()) {
      const std::string path(buf.data(), size_t(n));
      const size_t slash = path.find_last_of('/');
      return slash == std::string::npos ? std::string() : path.substr(0, slash);
    }
    buf.resize(buf.size() * 2);   // the path may have been cut: read it again with room
  }
}

}  // namespace pth
