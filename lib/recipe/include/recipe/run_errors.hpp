#pragma once
// A run directory or one of its files that cannot be made or written.
#include <stdexcept>
#include <string>

#include "pth/error.hpp"

namespace sg {

// A file of the run (checkpoint, averaging snapshot, log, events, stored recipe) could
// not be written (disk full, read-only folder): training stops; what was written before
// stays intact. what() is "cannot write <file>: <reason>".
class RunWriteError : public std::runtime_error {
 public:
  explicit RunWriteError(const std::string& what, bool no_space = false)
      : std::runtime_error(what), no_space_(no_space) {}
  // The disk or a limit had no room (not a folder that refuses writes).
  bool no_space() const { return no_space_; }

 private:
  bool no_space_;
};

// "cannot write <what>: <the write's error>", no_space when it was a pth::NoSpaceError.
RunWriteError run_write_error(const std::string& what, const pth::Error& error);

// The run directory cannot be created, locked or written (ckpt_root_dir is a file or
// read-only, another trainer holds it): nothing was trained, so this is an input error.
class RunDirError : public std::runtime_error {
 public:
  explicit RunDirError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace sg
