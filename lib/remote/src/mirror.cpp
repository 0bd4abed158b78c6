#include "remote/mirror.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "remote/remote_error.hpp"

namespace fs = std::filesystem;

namespace remote {
namespace {

constexpr const char* kSnapshotFolder = ".uploads";

std::chrono::seconds backoff(int attempts) { return std::chrono::seconds(std::min(30, 1 << std::min(attempts - 1, 5))); }

}  // namespace

Mirror::Mirror(std::string local_root, Location base) : root_(std::move(local_root)), base_(std::move(base)) {
  worker_ = std::thread([this] { work(); });
}

Mirror::~Mirror() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      cancel_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }
  for (const auto& [name, p] : pending_) discard(p.snapshot);
}

std::string Mirror::make_snapshot(const std::string& relative, Snapshot how) {
  uint64_t n;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    n = ++snapshot_count_;
  }
  std::string flat = relative;
  std::replace(flat.begin(), flat.end(), '/', '_');
  const fs::path folder = fs::path(root_) / kSnapshotFolder;
  const fs::path source = fs::path(root_) / relative;
  const fs::path snapshot = folder / (std::to_string(n) + "-" + flat);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) throw RemoteError("cannot upload " + source.string() + ": cannot make " + folder.string() + ": " + ec.message());
  if (how == Snapshot::Link && ::link(source.c_str(), snapshot.c_str()) == 0) return snapshot.string();
  fs::copy_file(source, snapshot, fs::copy_options::overwrite_existing, ec);   // no links here, or a growing file
  if (ec) throw RemoteError("cannot upload " + source.string() + ": cannot keep a copy of it: " + ec.message());
  return snapshot.string();
}

void Mirror::discard(const std::string& snapshot) {
  if (!snapshot.empty()) ::unlink(snapshot.c_str());
}

void Mirror::upload(const std::string& relative, Snapshot how) {
  Pending p;
  p.snapshot = make_snapshot(relative, how);
  queue(relative, std::move(p));
}

void Mirror::remove(const std::string& relative) {
  Pending p;
  p.remove = true;
  queue(relative, std::move(p));
}

void Mirror::queue(const std::string& relative, Pending p) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      discard(p.snapshot);
      return;
    }
    auto found = pending_.find(relative);
    if (found == pending_.end()) {
      order_.push_back(relative);
      pending_.emplace(relative, std::move(p));
    } else {
      if (found->second.snapshot != sending_) discard(found->second.snapshot);   // the worker lets go of the one it sends
      found->second = std::move(p);
    }
  }
  changed_.notify_all();
}

std::vector<std::string> Mirror::take_messages() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  out.swap(messages_);
  return out;
}

void Mirror::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !order_.empty(); });
    if (stopping_) return;
    if (std::chrono::steady_clock::now() < next_try_) {
      changed_.wait_until(lock, next_try_, [&] { return stopping_; });
      continue;
    }
    const std::string name = order_.front();
    const Pending sent = pending_.at(name);
    sending_ = sent.snapshot;
    lock.unlock();
    std::string error;
    try {
      if (sent.remove) {
        rclone_.remove(base_.child(name));
      } else {
        rclone_.upload(sent.snapshot, base_.child(name));
      }
    } catch (const RemoteError& e) {
      error = e.reason();
    } catch (const std::exception& e) {
      error = e.what();
    }
    lock.lock();
    sending_.clear();
    Pending& now = pending_.at(name);
    const bool replaced = now.snapshot != sent.snapshot || now.remove != sent.remove;   // a newer state goes next
    if (replaced || error.empty()) discard(sent.snapshot);
    if (error.empty()) {
      next_try_ = {};
      if (!replaced) {
        pending_.erase(name);
        order_.pop_front();
      }
    } else {
      now.attempts = replaced ? 1 : now.attempts + 1;
      now.error = error;
      const auto wait = backoff(now.attempts);
      messages_.push_back((sent.remove ? "cannot remove " : "cannot upload ") + (fs::path(root_) / name).string() +
                          " to " + base_.child(name).shown + ": " + error + " (attempt " +
                          std::to_string(now.attempts) + "; trying again in " + std::to_string(wait.count()) + " s)");
      next_try_ = std::chrono::steady_clock::now() + wait;
    }
    changed_.notify_all();
  }
}

size_t Mirror::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return order_.size();
}

std::vector<Mirror::Failure> Mirror::finish(std::chrono::duration<double> timeout,
                                            const std::function<void(const std::string&)>& said) {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
  for (;;) {
    const bool woken = changed_.wait_until(lock, deadline, [&] { return order_.empty() || !messages_.empty(); });
    std::vector<std::string> news;
    news.swap(messages_);
    lock.unlock();
    for (const std::string& line : news) said(line);
    lock.lock();
    if (order_.empty()) break;
    if (!woken) {
      cancel_ = true;
      break;
    }
  }
  stopping_ = true;
  lock.unlock();
  changed_.notify_all();
  worker_.join();
  std::vector<Failure> failures;
  for (const std::string& name : order_) {
    Pending& p = pending_.at(name);
    failures.push_back({(fs::path(root_) / name).string(), base_.child(name).shown,
                        p.error.empty() ? "not uploaded within the upload timeout" : p.error});
    discard(p.snapshot);
  }
  pending_.clear();
  order_.clear();
  std::error_code ec;
  fs::remove(fs::path(root_) / kSnapshotFolder, ec);   // only when empty
  return failures;
}

}  // namespace remote
