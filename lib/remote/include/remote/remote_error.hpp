#pragma once
#include <stdexcept>
#include <string>

namespace remote {

// rclone missing, a location it cannot reach, a transfer that failed: what() is one line.
class RemoteError : public std::runtime_error {
 public:
  explicit RemoteError(const std::string& what) : std::runtime_error(what), reason_(what) {}
  // what() is "<attempt>: <reason>"; reason() the second part (rclone's own words).
  RemoteError(const std::string& attempt, const std::string& reason)
      : std::runtime_error(attempt + ": " + reason), reason_(reason) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

}  // namespace remote
