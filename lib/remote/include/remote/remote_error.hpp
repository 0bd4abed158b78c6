#pragma once
#include <stdexcept>
#include <string>

namespace remote {

// rclone missing, a location it cannot reach, a transfer that failed: what() is one line.
class RemoteError : public std::runtime_error {
 public:
  explicit RemoteError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace remote
