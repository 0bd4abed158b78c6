#pragma once
// The files of a training run's saves, written in order, on the training thread or on a
// writer thread of their own (training_hyperparams.async_checkpoint).
//
// A save is begin(), then its writes and removals. In the background, each write first
// copies what it writes (pth::StagingBuffer) so that training can change its tensors the
// moment write() returns; the files are written, fsynced and renamed on the writer thread,
// in the order given. At most one save is in flight: begin() waits until the previous
// one's files are all written, so staging memory is one save's worth, reused. A file that
// cannot be written skips the rest of its save (the files after it, the commit record
// last among them, keep their previous version) and is reported by the next begin(),
// flush() or finish() as RunWriteError.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pth/folder.hpp"
#include "pth/staging.hpp"
#include "pth/value.hpp"

namespace sg {

class SaveQueue {
 public:
  explicit SaveQueue(bool background);
  ~SaveQueue();   // waits for the files in flight
  SaveQueue(const SaveQueue&) = delete;
  SaveQueue& operator=(const SaveQueue&) = delete;

  bool background() const { return background_; }

  // Starts a save once the previous one is written. Throws the RunWriteError of a failed one.
  void begin();
  // `value` as names[0] in `folder`, then given the other names (hard links: written once).
  // Throws RunWriteError ("cannot write checkpoint <path>: ...") when written here.
  void write(const pth::Folder& folder, const std::vector<std::string>& names, const pth::Value& value);
  void remove(const pth::Folder& folder, const std::string& name);
  // `task` once what was queued before it is written, on the same thread; skipped, like the
  // rest of its save, after a failed write.
  void then(std::function<void()> task) { run(std::move(task)); }
  // Waits until everything queued is written. Throws the RunWriteError of a failed write.
  void flush();

  struct Stats {
    int64_t saves = 0;
    // The calling thread's time in write(): copying the state in the background, writing
    // the files otherwise.
    double blocking_seconds = 0;
    double waiting_seconds = 0;   // in begin(), for the previous save's files
    uint64_t staged_bytes = 0;    // the last save's
  };
  // What the saves since the last call cost the calling thread; the counts restart.
  Stats take_stats();

 private:
  using Task = std::function<void()>;
  void run(Task task);                 // here, or queued for the writer thread
  void writer_loop();
  void wait_idle(std::unique_lock<std::mutex>& lock);
  void rethrow_failure(std::unique_lock<std::mutex>& lock);

  const bool background_;
  std::vector<pth::StagingBuffer> buffers_;   // one per write of a save, reused by the next save
  size_t writes_in_save_ = 0;
  Stats stats_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Task> tasks_;
  bool busy_ = false;            // the writer is running a task
  bool stopping_ = false;
  bool save_failed_ = false;     // the rest of the current save is skipped
  std::exception_ptr failure_;   // reported once
  std::thread writer_;
};

}  // namespace sg
