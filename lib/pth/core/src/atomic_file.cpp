#include "pth/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "pth/error.hpp"
#include "pth/positioned_write.hpp"

// Writes past RLIMIT_FSIZE raise SIGXFSZ, whose default action kills the process before
// write() can return EFBIG. The library does not touch signal handling: programs that
// want "write failed: File too large" instead of dying must ignore SIGXFSZ themselves
// (signal(SIGXFSZ, SIG_IGN) at startup).

namespace pth {

namespace {

constexpr const char* kTempMarker = ".tmp-";
// The temp name must fit NAME_MAX (255) whatever the target's length: the target's part
// is cut to this many bytes, leaving room for the marker, the pid and the counter.
constexpr size_t kTempBaseMax = 200;
std::atomic<unsigned long> g_counter{0};
std::atomic<CommitHook> g_commit_hook{nullptr};

std::string errno_text(int err) { return std::strerror(err); }

bool all_digits(const std::string& s, size_t begin, size_t end) {
  if (begin >= end) return false;
  for (size_t i = begin; i < end; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// Temp files not yet committed, for remove_pending_temp_files() in a signal handler:
// a fixed table of (folder descriptor, name) claimed and released with atomics.
struct PendingTemp {
  std::atomic<int> state{0};   // 0 free, 1 being filled, 2 live
  int dir_fd = -1;
  char name[256] = {};
};
constexpr int kPendingSlots = 64;
PendingTemp g_pending[kPendingSlots];

int claim_pending(int dir_fd, const std::string& name) {
  if (name.size() >= sizeof g_pending[0].name) return -1;
  for (int i = 0; i < kPendingSlots; ++i) {
    int expected = 0;
    if (!g_pending[i].state.compare_exchange_strong(expected, 1)) continue;
    g_pending[i].dir_fd = dir_fd;
    std::memcpy(g_pending[i].name, name.c_str(), name.size() + 1);
    g_pending[i].state.store(2);
    return i;
  }
  return -1;   // more writers in flight than slots: this one is only cleaned by the next run
}

// Splits a path into its folder (as open() would find it) and its last component.
std::pair<std::string, std::string> split_target(const std::string& target) {
  const size_t slash = target.rfind('/');
  if (slash == std::string::npos) return {".", target};
  return {slash == 0 ? "/" : target.substr(0, slash), target.substr(slash + 1)};
}

Folder open_folder_of(const std::string& target) {
  return Folder::open(split_target(target).first, "cannot create temp file in");
}

bool writer_is_gone(const std::string& temp_name) {
  const size_t numbers = temp_name.rfind(kTempMarker) + std::strlen(kTempMarker);
  const long pid = std::strtol(temp_name.c_str() + numbers, nullptr, 10);
  return pid > 0 && pid != long(::getpid()) && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

AtomicFile::AtomicFile(const std::string& target, bool replace)
    : folder_(open_folder_of(target)), name_(split_target(target).second), target_(target), replace_(replace) {
  create_temp();
}

AtomicFile::AtomicFile(const Folder& folder, const std::string& name, bool replace)
    : folder_(folder), name_(name), target_(folder.path_of(name)), replace_(replace) {
  create_temp();
}

void AtomicFile::create_temp() {
  if (name_.empty() || name_ == "." || name_ == "..") throw Error("not a file name: '" + target_ + "'");
  // O_EXCL makes a collision with a leftover (or another writer) fail instead of sharing
  // the file, and never follows a link; retry a few counters before giving up.
  remove_leftovers(folder_, name_);
  const std::string base = name_.substr(0, kTempBaseMax);
  int err = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_ = "." + base + kTempMarker + std::to_string(::getpid()) + "-" + std::to_string(g_counter.fetch_add(1));
    // Claimed before the file exists: a signal between the two finds a name to remove
    // (or none yet), never a file nobody knows of.
    pending_slot_ = claim_pending(folder_.fd(), temp_);
    fd_ = folder_.open_file(temp_, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd_ >= 0) return;
    err = errno;
    release_temp();
    if (err != EEXIST) break;
  }
  temp_.clear();
  throw_io_error("cannot create temp file in " + folder_.path(), err);
}

void AtomicFile::release_temp() noexcept {
  if (pending_slot_ >= 0) g_pending[pending_slot_].state.store(0);
  pending_slot_ = -1;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) folder_.remove(temp_);
  release_temp();
}

void AtomicFile::write(ByteView bytes) {
  if (fd_ < 0) throw Error("write failed: file already committed or closed");
  const uint8_t* p = bytes.data;
  size_t left = bytes.size;
  while (left > 0) {
    // Linux moves at most ~2 GiB per call anyway; keep each request below that.
    const size_t chunk = left < (size_t(1) << 30) ? left : (size_t(1) << 30);
    const ssize_t n = ::write(fd_, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io_error("write failed", errno);
    }
    if (n == 0) throw_io_error("write failed", ENOSPC);
    p += n;
    left -= size_t(n);
    written_ += uint64_t(n);
  }
  start_writeback();
}

// The disk starts on each completed run of bytes while the next ones are written, so that
// commit()'s fsync waits for the last run only, not for the whole file: writing then takes
// about as long as the slower of copying and the disk, not both one after the other.
void AtomicFile::start_writeback() {
  constexpr uint64_t kRun = 8 << 20;
  if (written_ - writeback_from_ < kRun) return;
  const uint64_t end = written_ / kRun * kRun;
  ::sync_file_range(fd_, off_t(writeback_from_), off_t(end - writeback_from_), SYNC_FILE_RANGE_WRITE);   // a hint
  writeback_from_ = end;
}

void AtomicFile::write_at(uint64_t offset, ByteView bytes) {
  if (fd_ < 0) throw Error("write failed: file already committed or closed");
  if (offset + bytes.size > written_) throw Error("write failed: patch past the end of the file");
  pth::write_at(fd_, offset, bytes);
}

void AtomicFile::commit() {
  if (committed_ || fd_ < 0) throw Error("commit failed: file already committed or closed");
  if (::fsync(fd_) != 0) throw_io_error("fsync failed", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw_io_error("close failed", errno);
  rename_into_place();
}

void AtomicFile::rename_into_place() {
  const CommitHook hook = g_commit_hook.load();
  if (hook) hook(CommitStage::BeforeRename, target_);
  if (replace_) {
    if (::renameat(folder_.fd(), temp_.c_str(), folder_.fd(), name_.c_str()) != 0)
      throw Error("rename failed: " + errno_text(errno));
  } else if (::renameat2(folder_.fd(), temp_.c_str(), folder_.fd(), name_.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) throw Error("a file of that name appeared while it was being written; it was not replaced");
    throw Error("rename failed: " + errno_text(errno));
  }
  committed_ = true;
  release_temp();
  // The rename is durable only once the folder's entry is on disk.
  folder_.sync();
  if (hook) hook(CommitStage::AfterRename, target_);
}

void AtomicFile::add_name(const Folder& folder, const std::string& existing, const std::string& name) {
  AtomicFile out(folder, name);   // its temp name, claimed and cleaned like any other
  ::close(out.fd_);
  out.fd_ = -1;
  // The empty temp file makes way for the link under the same name. linkat without
  // AT_SYMLINK_FOLLOW links a planted symbolic link itself, never what it points to.
  if (::unlinkat(folder.fd(), out.temp_.c_str(), 0) != 0) throw_io_error("cannot link " + out.target_, errno);
  if (::linkat(folder.fd(), existing.c_str(), folder.fd(), out.temp_.c_str(), 0) == 0) {
    out.rename_into_place();   // the data was synced when `existing` was committed
    return;
  }
  const int err = errno;
  if (err != EPERM && err != EMLINK && err != EOPNOTSUPP && err != ENOSYS)
    throw_io_error("cannot link " + out.target_ + " to " + existing, err);
  out.copy_from(existing);
  out.commit();
}

void AtomicFile::copy_from(const std::string& existing) {
  const int in = folder_.open_file(existing, O_RDONLY);
  if (in < 0) throw_io_error("cannot open " + folder_.path_of(existing), errno);
  try {
    fd_ = folder_.open_file(temp_, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd_ < 0) {
      const int err = errno;
      throw_io_error("cannot create temp file in " + folder_.path(), err);
    }
    std::vector<uint8_t> chunk(size_t(1) << 20);
    for (;;) {
      const ssize_t n = ::read(in, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        throw_io_error("cannot read " + folder_.path_of(existing), err);
      }
      if (n == 0) break;
      write(ByteView(chunk.data(), size_t(n)));
    }
  } catch (...) {
    ::close(in);
    throw;
  }
  ::close(in);
}

bool AtomicFile::is_temp_name(const std::string& file_name) {
  const size_t slash = file_name.rfind('/');
  const std::string name = slash == std::string::npos ? file_name : file_name.substr(slash + 1);
  const size_t marker = name.rfind(kTempMarker);
  if (name.size() < 2 || name[0] != '.' || marker == std::string::npos || marker < 2) return false;
  const size_t numbers = marker + std::strlen(kTempMarker);
  const size_t dash = name.find('-', numbers);
  if (dash == std::string::npos) return false;
  return all_digits(name, numbers, dash) && all_digits(name, dash + 1, name.size());
}

void AtomicFile::remove_leftovers(const Folder& folder, const std::string& target_name) {
  const std::string prefix = target_name.empty() ? "" : "." + target_name.substr(0, kTempBaseMax) + kTempMarker;
  std::vector<std::string> names;
  try {
    names = folder.list();
  } catch (const Error&) {
    return;   // cleaning up is best effort: an unlistable folder keeps its leftovers
  }
  for (const std::string& name : names)
    if (is_temp_name(name) && name.compare(0, prefix.size(), prefix) == 0 && writer_is_gone(name)) folder.remove(name);
}

void remove_pending_temp_files() noexcept {
  for (PendingTemp& p : g_pending)
    if (p.state.load() == 2) ::unlinkat(p.dir_fd, p.name, 0);
}

void set_commit_hook(CommitHook hook) { g_commit_hook.store(hook); }

}  // namespace pth
