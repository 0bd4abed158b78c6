#include "sg/checkpoint/save_queue.hpp"

#include <chrono>

#include "pth/atomic_file.hpp"
#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "recipe/run_errors.hpp"

namespace sg {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Every file takes torch.save's neutral root folder name (as for a file object) rather
// than its own stem: one file may carry several names.
void write_file(const pth::Folder& folder, const std::vector<std::string>& names, const pth::Value& value) {
  try {
    pth::WriteOptions options;
    options.root_name = "archive";
    pth::write_checkpoint(folder, names.front(), value, options);
  } catch (const pth::Error& e) {
    throw run_write_error("checkpoint " + folder.path_of(names.front()), e);
  }
  for (size_t i = 1; i < names.size(); ++i) {
    try {
      pth::AtomicFile::add_name(folder, names.front(), names[i]);
    } catch (const pth::Error& e) {
      throw run_write_error("checkpoint " + folder.path_of(names[i]), e);
    }
  }
}

}  // namespace

SaveQueue::SaveQueue(bool background) : background_(background) {
  if (background_) writer_ = std::thread([this] { writer_loop(); });
}

SaveQueue::~SaveQueue() {
  if (!background_) return;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_idle(lock);
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
}

void SaveQueue::begin() {
  const auto start = Clock::now();
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wait_idle(lock);
    save_failed_ = false;
    rethrow_failure(lock);
  }
  stats_.waiting_seconds += seconds_since(start);
  ++stats_.saves;
  stats_.staged_bytes = 0;
  writes_in_save_ = 0;
}

void SaveQueue::write(const pth::Folder& folder, const std::vector<std::string>& names, const pth::Value& value) {
  const auto start = Clock::now();
  if (!background_) {
    write_file(folder, names, value);
    stats_.blocking_seconds += seconds_since(start);
    return;
  }
  if (buffers_.size() <= writes_in_save_) buffers_.emplace_back();
  pth::StagingBuffer& buffer = buffers_[writes_in_save_++];
  pth::Value staged;
  try {
    staged = buffer.stage(value);
  } catch (const pth::Error& e) {
    throw run_write_error("checkpoint " + folder.path_of(names.front()), e);
  }
  stats_.blocking_seconds += seconds_since(start);
  stats_.staged_bytes += buffer.last_staged();
  run([folder, names, staged] { write_file(folder, names, staged); });
}

void SaveQueue::remove(const pth::Folder& folder, const std::string& name) {
  run([folder, name] { folder.remove(name); });
}

void SaveQueue::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  wait_idle(lock);
  rethrow_failure(lock);
}

SaveQueue::Stats SaveQueue::take_stats() {
  const Stats out = stats_;
  stats_ = Stats{};
  stats_.staged_bytes = out.staged_bytes;
  return out;
}

void SaveQueue::run(Task task) {
  if (!background_) {
    task();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  changed_.notify_all();
}

void SaveQueue::writer_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;   // stopping, and nothing left
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    if (save_failed_) continue;   // the rest of a failed save
    busy_ = true;
    lock.unlock();
    std::exception_ptr failed;
    try {
      task();
    } catch (...) {
      failed = std::current_exception();
    }
    task = nullptr;   // the staged value (and its buffer) is let go before the save counts as written
    lock.lock();
    busy_ = false;
    if (failed) {
      save_failed_ = true;
      if (!failure_) failure_ = failed;
    }
    changed_.notify_all();
  }
}

void SaveQueue::wait_idle(std::unique_lock<std::mutex>& lock) {
  changed_.wait(lock, [&] { return tasks_.empty() && !busy_; });
}

void SaveQueue::rethrow_failure(std::unique_lock<std::mutex>& lock) {
  if (!failure_) return;
  std::exception_ptr failure = failure_;
  failure_ = nullptr;
  lock.unlock();
  std::rethrow_exception(failure);
}

}  // namespace sg
