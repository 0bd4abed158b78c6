#include "pth/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "pth/error.hpp"

// Writes past RLIMIT_FSIZE raise SIGXFSZ, whose default action kills the process before
// write() can return EFBIG. The library does not touch signal handling: programs that
// want "write failed: File too large" instead of dying must ignore SIGXFSZ themselves
// (signal(SIGXFSZ, SIG_IGN) at startup).

namespace pth {

namespace {

constexpr const char* kTempMarker = ".tmp-";
std::atomic<unsigned long> g_counter{0};

std::string errno_text(int err) { return std::strerror(err); }

bool all_digits(const std::string& s, size_t begin, size_t end) {
  if (begin >= end) return false;
  for (size_t i = begin; i < end; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

}  // namespace

AtomicFile::AtomicFile(std::string target) : target_(std::move(target)) {
  const size_t slash = target_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target_.substr(0, slash);
  const std::string prefix = slash == std::string::npos ? "" : target_.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? target_ : target_.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") throw Error("not a file name: '" + target_ + "'");

  // O_EXCL makes a collision with a leftover (or another writer) fail instead of sharing
  // the file; retry a few counters before giving up.
  int err = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_ = prefix + "." + base + kTempMarker + std::to_string(::getpid()) + "-" +
            std::to_string(g_counter.fetch_add(1));
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ >= 0) return;
    err = errno;
    if (err != EEXIST) break;
  }
  temp_.clear();
  throw Error("cannot create temp file in " + dir + ": " + errno_text(err));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
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
      throw Error("write failed: " + errno_text(errno));
    }
    if (n == 0) throw Error("write failed: no progress (device full?)");
    p += n;
    left -= size_t(n);
    written_ += uint64_t(n);
  }
}

void AtomicFile::write_at(uint64_t offset, ByteView bytes) {
  if (fd_ < 0) throw Error("write failed: file already committed or closed");
  if (offset + bytes.size > written_) throw Error("write failed: patch past the end of the file");
  size_t done = 0;
  while (done < bytes.size) {
    const ssize_t n = ::pwrite(fd_, bytes.data + done, bytes.size - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error("write failed: " + errno_text(n < 0 ? errno : ENOSPC));
    done += size_t(n);
  }
}

void AtomicFile::commit() {
  if (committed_ || fd_ < 0) throw Error("commit failed: file already committed or closed");
  if (::fsync(fd_) != 0) throw Error("fsync failed: " + errno_text(errno));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw Error("close failed: " + errno_text(errno));
  if (::rename(temp_.c_str(), target_.c_str()) != 0) throw Error("rename failed: " + errno_text(errno));
  committed_ = true;

  // The rename is durable only once the folder's entry is on disk.
  const size_t slash = target_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : target_.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw Error("cannot open folder to fsync it: " + errno_text(errno));
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // Some file systems cannot fsync a folder (EINVAL); the data itself is already synced.
  if (rc != 0 && err != EINVAL) throw Error("fsync of folder failed: " + errno_text(err));
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

}  // namespace pth
