#pragma once
// A run directory mirrored to a remote location in the background: files are uploaded on a
// thread of their own, in the order queued, retried with backoff while the network or the
// server is down. Training never waits for it, except at finish().
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "remote/location.hpp"
#include "remote/rclone.hpp"

namespace remote {

class Mirror {
 public:
  // Files of `local_root` go to `base` under the same relative names. Snapshots of files
  // waiting for upload are kept in local_root/.uploads/.
  Mirror(std::string local_root, Location base);
  ~Mirror();   // abandons what is still queued (finish() is the orderly end)
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // How a file is kept as it was when queued: a checkpoint is replaced by rename, never
  // changed in place, so a hard link is its snapshot; a log grows, so it is copied.
  enum class Snapshot { Link, Copy };
  // Queues local_root/relative for upload. A newer state of a name replaces an older one
  // still waiting (the newest wins); one being uploaded finishes, then the newer follows.
  // Throws RemoteError when the snapshot cannot be made.
  void upload(const std::string& relative, Snapshot how);
  void remove(const std::string& relative);

  // Retry lines and other news since the last call, for the training log.
  std::vector<std::string> take_messages();

  struct Failure {
    std::string local_path;
    std::string remote;
    std::string error;
  };
  // Waits until everything queued is uploaded or `timeout` has passed (the upload in
  // progress is then stopped); returns what was not uploaded. Nothing is queued after it.
  // `said` gets each retry line as it happens meanwhile (on the calling thread).
  std::vector<Failure> finish(std::chrono::duration<double> timeout,
                              const std::function<void(const std::string&)>& said);
  size_t waiting() const;   // files (and removals) not yet done

 private:
  struct Pending {
    bool remove = false;
    std::string snapshot;   // the file to send; empty for a removal
    int attempts = 0;
    std::string error;      // the last attempt's
  };
  void work();
  std::string make_snapshot(const std::string& relative, Snapshot how);
  void discard(const std::string& snapshot);
  void queue(const std::string& relative, Pending p);

  const std::string root_;
  const Location base_;
  std::atomic<bool> cancel_{false};
  const Rclone rclone_{&cancel_};
  uint64_t snapshot_count_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> order_;              // names waiting, oldest first
  std::map<std::string, Pending> pending_;     // by name
  std::string sending_;                        // the snapshot being uploaded, if any
  std::chrono::steady_clock::time_point next_try_{};
  std::vector<std::string> messages_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace remote
