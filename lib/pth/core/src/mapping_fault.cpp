#include "pth/mapping_fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "internal/mapping_registry.hpp"
#include "pth/atomic_file.hpp"

namespace pth {
namespace detail {
namespace {

// One slot per live mapping. Its owner rewrites the range under a sequence count (odd
// while writing), so that a handler running on another thread never sees half a range.
struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<uint32_t> sequence{0};
  std::atomic<uintptr_t> begin{0}, end{0};
  std::atomic<const char*> path{nullptr};
};

// More than a process may have files open by default (ulimit -n 1024): MappedFile keeps
// its descriptor open, so the table fills only under a raised limit.
constexpr int kSlots = 1024;
Slot slots[kSlots];

void set_range(Slot& s, uintptr_t begin, uintptr_t end, const char* path) {
  const uint32_t seq = s.sequence.load(std::memory_order_relaxed);
  s.sequence.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.begin.store(begin, std::memory_order_relaxed);
  s.end.store(end, std::memory_order_relaxed);
  s.path.store(path, std::memory_order_relaxed);
  s.sequence.store(seq + 2, std::memory_order_release);
}

}  // namespace

int register_mapping(const void* begin, size_t size, const char* path) {
  const auto b = reinterpret_cast<uintptr_t>(begin);
  for (int i = 0; i < kSlots; ++i) {
    bool free = false;
    if (slots[i].taken.compare_exchange_strong(free, true, std::memory_order_acquire)) {
      set_range(slots[i], b, b + size, path);
      return i;
    }
  }
  return -1;
}

void unregister_mapping(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  set_range(slots[slot], 0, 0, nullptr);
  slots[slot].taken.store(false, std::memory_order_release);
}

const char* mapped_path_at(const void* address) {
  const auto a = reinterpret_cast<uintptr_t>(address);
  for (Slot& s : slots) {
    const uint32_t before = s.sequence.load(std::memory_order_acquire);
    const uintptr_t begin = s.begin.load(std::memory_order_relaxed);
    const uintptr_t end = s.end.load(std::memory_order_relaxed);
    const char* path = s.path.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (before % 2 == 0 && s.sequence.load(std::memory_order_relaxed) == before && begin <= a && a < end) return path;
  }
  return nullptr;
}

}  // namespace detail

namespace {

const char* program = "";
int status = 2;
struct sigaction previous;
std::atomic<bool> installed{false};

// The line is put together first so that it reaches stderr in one write.
void report(const char* path) {
  char line[4096];
  size_t used = 0;
  for (const char* piece : {program, ": error: ", path, ": ", detail::kFileChangedWhileReading})
    for (const char* c = piece; *c != '\0' && used < sizeof line - 1; ++c) line[used++] = *c;
  line[used++] = '\n';
  for (size_t done = 0; done < used;) {
    const ssize_t n = ::write(STDERR_FILENO, line + done, used - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

void on_bus_error(int, siginfo_t* info, void*) {
  const char* path = info->si_code > 0 ? detail::mapped_path_at(info->si_addr) : nullptr;
  if (path == nullptr) {
    // Not ours: back to the earlier action. A real fault repeats when this returns; a
    // signal sent by kill() is raised again (it is blocked until this returns).
    const int saved_errno = errno;
    ::sigaction(SIGBUS, &previous, nullptr);
    if (info->si_code <= 0) ::raise(SIGBUS);
    errno = saved_errno;
    return;
  }
  // Threads reading the same file fault together: one of them speaks, the others wait.
  static std::atomic<bool> reporting{false};
  if (reporting.exchange(true)) for (;;) ::pause();
  report(path);
  remove_pending_temp_files();   // an output being written from the file goes too
  ::_exit(status);
}

}  // namespace

void install_mapping_fault_handler(const char* program_name, int exit_status) {
  program = program_name;
  status = exit_status;
  if (installed.exchange(true)) return;
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = on_bus_error;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGBUS, &action, &previous);
}

}  // namespace pth
