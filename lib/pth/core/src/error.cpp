#include "pth/error.hpp"

#include <cerrno>
#include <cstring>

namespace pth {

bool is_no_space(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

void throw_io_error(const std::string& what, int err) {
  const std::string text = what + ": " + std::strerror(err);
  if (is_no_space(err)) throw NoSpaceError(text);
  throw Error(text);
}

}  // namespace pth
