#include "common/local_workers.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "sg/dist/torchrun_env.hpp"

extern char** environ;

namespace common {
namespace {

constexpr int kExecFailed = 127;   // the shell's status for a command that could not run

std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  if (args.empty()) throw std::runtime_error("cannot read this program's arguments from /proc/self/cmdline");
  return args;
}

bool is_torchrun_variable(const std::string& entry) {
  const std::string name = entry.substr(0, entry.find('='));
  for (const std::string& v : sg::torchrun_variable_names())
    if (name == v) return true;
  return false;
}

std::vector<std::string> worker_environment(int64_t rank, int64_t workers, uint16_t port) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (!is_torchrun_variable(*e)) env.emplace_back(*e);
  const std::string r = std::to_string(rank), n = std::to_string(workers);
  for (std::string entry : {"RANK=" + r, "LOCAL_RANK=" + r, "WORLD_SIZE=" + n, "LOCAL_WORLD_SIZE=" + n,
                            std::string("MASTER_ADDR=127.0.0.1"), "MASTER_PORT=" + std::to_string(port),
                            std::string("TORCHELASTIC_RESTART_COUNT=0"), std::string("TORCHELASTIC_USE_AGENT_STORE=True")})
    env.push_back(std::move(entry));
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The stop signals and SIGCHLD stay blocked in this process while the workers run (so
// that no thread, the store's included, runs a handler for them) and are taken with
// sigtimedwait; the workers get the mask this process had.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~BlockedSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  const sigset_t& set() const { return set_; }
  const sigset_t& previous() const { return previous_; }

 private:
  sigset_t set_, previous_;
};

struct Worker {
  pid_t pid = 0;
  bool running = false;
  int wait_status = 0;
};

// Only async-signal-safe calls between fork and exec: the parent has threads.
pid_t start_worker(char** argv, char** envp, const sigset_t& mask, pid_t launcher) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != launcher) _exit(kExecFailed);   // the launcher died before prctl
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  execve("/proc/self/exe", argv, envp);
  _exit(kExecFailed);
}

void reap(std::vector<Worker>& workers, bool block) {
  for (Worker& w : workers) {
    if (!w.running) continue;
    int status = 0;
    const pid_t done = waitpid(w.pid, &status, block ? 0 : WNOHANG);
    if (done == w.pid) {
      w.running = false;
      w.wait_status = status;
    }
  }
}

bool any_running(const std::vector<Worker>& workers) {
  for (const Worker& w : workers)
    if (w.running) return true;
  return false;
}

void signal_running(const std::vector<Worker>& workers, int signal_number) {
  for (const Worker& w : workers)
    if (w.running) kill(w.pid, signal_number);
}

}  // namespace

std::vector<WorkerEnd> run_local_workers(const LocalLaunch& launch) {
  if (launch.workers < 1) throw std::invalid_argument("the launcher needs at least 1 worker");
  if (!(launch.timeout_s > 0)) throw std::invalid_argument("the launcher's store timeout must be positive");
  BlockedSignals blocked;   // before the store starts its thread
  c10d::TCPStoreOptions options;
  options.port = 0;   // any free port: no race with another job for a chosen one
  options.isServer = true;
  options.waitWorkers = false;
  options.timeout = std::chrono::milliseconds(int64_t(launch.timeout_s * 1000));
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot serve the workers' c10d store on 127.0.0.1: ") + e.what());
  }

  std::vector<std::string> args = own_arguments();
  std::vector<char*> argv = pointers(args);
  std::vector<std::vector<std::string>> environments;
  std::vector<std::vector<char*>> envps;
  for (int64_t rank = 0; rank < launch.workers; ++rank)
    environments.push_back(worker_environment(rank, launch.workers, store->getPort()));
  for (auto& env : environments) envps.push_back(pointers(env));

  std::vector<Worker> workers(size_t(launch.workers));
  const pid_t launcher = getpid();
  for (size_t rank = 0; rank < workers.size(); ++rank) {
    const pid_t pid = start_worker(argv.data(), envps[rank].data(), blocked.previous(), launcher);
    if (pid < 0) {
      const std::string cause = std::strerror(errno);
      signal_running(workers, SIGTERM);
      reap(workers, /*block=*/true);
      throw std::runtime_error("cannot start worker " + std::to_string(rank) + ": " + cause);
    }
    workers[rank] = {pid, true, 0};
  }

  bool forwarded = false;
  for (reap(workers, false); any_running(workers); reap(workers, false)) {
    const timespec tick{1, 0};   // SIGCHLD wakes it at once; the tick only bounds a missed one
    const int got = sigtimedwait(&blocked.set(), nullptr, &tick);
    if (got == SIGINT || got == SIGTERM || got == SIGHUP) {
      signal_running(workers, forwarded ? got : SIGUSR1);
      forwarded = true;
    }
  }
  std::vector<WorkerEnd> ends;
  for (size_t rank = 0; rank < workers.size(); ++rank)
    ends.push_back({int64_t(rank), int(workers[rank].pid), workers[rank].wait_status});
  return ends;
}

}  // namespace common
