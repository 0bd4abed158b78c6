#include "recipe/run_errors.hpp"

namespace sg {

RunWriteError run_write_error(const std::string& what, const pth::Error& error) {
  return RunWriteError("cannot write " + what + ": " + error.what(), dynamic_cast<const pth::NoSpaceError*>(&error) != nullptr);
}

}  // namespace sg
