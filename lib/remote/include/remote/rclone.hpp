#pragma once
// The transfers this toolkit makes, each one rclone command. Every failure is a
// RemoteError whose what() is one line: what was attempted, and rclone's own reason.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "remote/location.hpp"
#include "remote/process.hpp"

namespace remote {

struct RemoteEntry {
  std::string path;   // relative to the listed location, '/'-separated
  uint64_t size = 0;
  bool is_dir = false;
};

class Rclone {
 public:
  // The program is $SG_RCLONE when set, else `rclone` on PATH. `cancel`, when given, ends
  // a transfer in progress (the rclone process is killed) as soon as it turns true.
  explicit Rclone(const std::atomic<bool>* cancel = nullptr);

  // That the location (or, for a prefix not made yet, the nearest folder above it) can be
  // listed with the credentials at hand.
  void check_reachable(const Location& where) const;
  // Every file below `dir` (recursive); empty when it does not exist.
  std::vector<RemoteEntry> list_files(const Location& dir) const;
  // The file becomes `to` only once complete: it is sent under a temporary name next to
  // it, then moved (server-side) to its name.
  void upload(const std::string& local_file, const Location& to) const;
  // The remote file into local_file (written as it comes: the caller renames it).
  void download(const Location& from, const std::string& local_file) const;
  // The size of a remote file; RemoteError when there is no file there.
  uint64_t size_of(const Location& file) const;
  // `count` bytes of the file from `offset` (fewer only past its end).
  std::string read_range(const Location& file, uint64_t offset, uint64_t count) const;
  void remove(const Location& file) const;

 private:
  // rclone with `args` and the location's flags; throws only when it could not run.
  ProcessResult call(const std::vector<std::string>& args, const Location& where, const std::string& what) const;
  // The same, throwing RemoteError("<what>: <rclone's reason>") when it fails; its stdout.
  std::string run(const std::vector<std::string>& args, const Location& where, const std::string& what) const;
  std::string program_;
  const std::atomic<bool>* cancel_;
};

}  // namespace remote
