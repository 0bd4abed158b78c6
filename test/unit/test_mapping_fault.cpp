// A mapped input file truncated by another process: touching the lost pages is a one-line
// error and the program's exit status, not a crash (pth::install_mapping_fault_handler).
// Each case faults in a child process and checks how it ended and what it printed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "pth/mapped_file.hpp"
#include "pth/mapping_fault.hpp"
#include "temp_dir.hpp"

namespace {

constexpr size_t kFileBytes = 1 << 20;

void write_file(const std::string& path, size_t size) {
  std::ofstream(path, std::ios::binary) << std::string(size, 'x');
}

struct Ended {
  int status = 0;
  std::string stderr_text;
};

// Runs `body` in a child whose stderr is captured; returns its wait status and stderr.
Ended in_child(const std::function<void()>& body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::signal(SIGBUS, SIG_DFL);   // not the test framework's handler
    body();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Ended ended;
  char buf[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;)
    if (n > 0) ended.stderr_text.append(buf, size_t(n));
  ::close(pipe_fds[0]);
  REQUIRE(::waitpid(pid, &ended.status, 0) == pid);
  return ended;
}

uint8_t touch(pth::ByteView v, size_t at) { return *static_cast<const volatile uint8_t*>(v.data + at); }

// A file of kFileBytes, mapped, then truncated to `keep` bytes behind the mapping's back.
struct TruncatedMapping {
  TempDir dir;
  std::string path = dir.file("model.pth");
  std::shared_ptr<const pth::MappedFile> file;
  explicit TruncatedMapping(off_t keep) {
    write_file(path, kFileBytes);
    file = pth::MappedFile::open(path);
    REQUIRE(::truncate(path.c_str(), keep) == 0);
  }
};

void check_reported(const Ended& ended, int status, const std::string& path) {
  CHECK(WIFEXITED(ended.status));
  CHECK(WEXITSTATUS(ended.status) == status);
  CHECK(ended.stderr_text == "sg-test: error: " + path + ": the file changed while it was being read\n");
}

}  // namespace

TEST_CASE("a fault on a truncated MappedFile prints one line naming the file and exits with the given status") {
  // Far more files opened and closed first than the registry has slots: slots are given back.
  TempDir dir;
  write_file(dir.file("small"), 4096);
  for (int i = 0; i < 3000; ++i) pth::MappedFile::open(dir.file("small"));
  const TruncatedMapping m(4096);
  const Ended ended = in_child([&] {
    pth::install_mapping_fault_handler("sg-test", 2);
    touch(m.file->view(), kFileBytes - 1);
  });
  check_reported(ended, 2, m.path);
}

TEST_CASE("threads faulting together on a truncated file print the line once") {
  const TruncatedMapping m(0);
  const Ended ended = in_child([&] {
    pth::install_mapping_fault_handler("sg-test", 3);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < 4; ++i) threads.emplace_back([&, i] { touch(m.file->view(), i * 4096); });
    for (std::thread& t : threads) t.join();
  });
  check_reported(ended, 3, m.path);
}

TEST_CASE("a fault outside every MappedFile keeps the default action") {
  TempDir dir;
  const std::string path = dir.file("other.bin");
  write_file(path, kFileBytes);
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  void* p = ::mmap(nullptr, kFileBytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  REQUIRE(p != MAP_FAILED);
  REQUIRE(::truncate(path.c_str(), 0) == 0);

  const Ended ended = in_child([&] {
    pth::install_mapping_fault_handler("sg-test", 2);
    touch({p, kFileBytes}, kFileBytes - 1);
  });
  ::munmap(p, kFileBytes);
  CHECK(WIFSIGNALED(ended.status));
  CHECK(WTERMSIG(ended.status) == SIGBUS);
  CHECK(ended.stderr_text.empty());
}

TEST_CASE("a SIGBUS sent as a signal (kill, raise) keeps the default action") {
  const Ended ended = in_child([] {
    pth::install_mapping_fault_handler("sg-test", 2);
    ::raise(SIGBUS);
  });
  CHECK(WIFSIGNALED(ended.status));
  CHECK(WTERMSIG(ended.status) == SIGBUS);
  CHECK(ended.stderr_text.empty());
}
