#include "recipe/run_dir.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "recipe/run_errors.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

std::string format_run_id(const timeval& tv) {
  std::tm local{};
  time_t seconds = tv.tv_sec;
  localtime_r(&seconds, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, "RUN_%Y%m%d_%H%M%S_", &local);
  char micros[16];
  std::snprintf(micros, sizeof micros, "%06ld", long(tv.tv_usec));
  return std::string(buf) + micros;
}

std::string holder_text(int fd) {
  char buf[256];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text(buf, n > 0 ? size_t(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text.empty() ? "another process" : text;
}

// flock on <run>/.lock, held until the descriptor closes (or the process dies, kill -9
// included). The lock is taken read-only, so that a resume refused later for bad input
// has written nothing; the file says who holds it once record_holder() has run.
std::shared_ptr<const int> lock_run(const pth::Folder& run) {
  const std::string path = run.path_of(RunDirectory::kLockName);
  int fd = run.open_file(RunDirectory::kLockName, O_RDONLY);
  if (fd < 0 && errno == ENOENT) fd = run.open_file(RunDirectory::kLockName, O_RDONLY | O_CREAT, 0644);
  if (fd < 0) throw std::runtime_error("cannot open the run's lock file " + path + ": " + std::strerror(errno));
  auto owned = std::shared_ptr<const int>(new int(fd), [](const int* p) {
    ::close(*p);
    delete p;
  });
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      throw RunInUseError("run directory " + run.path() + " is in use by " + holder_text(fd) +
                          " (one trainer at a time per run)");
    throw std::runtime_error("cannot lock " + path + ": " + std::strerror(errno));
  }
  return owned;
}

}  // namespace

std::string make_run_id() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return format_run_id(tv);
}

bool is_run_id(const std::string& name) { return name.rfind("RUN_", 0) == 0; }

RunDirectory RunDirectory::create(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                   const std::string& job) {
  const fs::path experiment = fs::path(ckpt_root_dir) / experiment_name;
  std::error_code ec;
  fs::create_directories(experiment, ec);
  if (ec) throw std::runtime_error("cannot create " + experiment.string() + ": " + ec.message());
  const pth::Folder parent = pth::Folder::open(experiment.string());
  timeval tv{};
  gettimeofday(&tv, nullptr);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const std::string id = format_run_id(tv);
    if (::mkdirat(parent.fd(), id.c_str(), 0777) == 0) {
      pth::Folder run = parent.child(id, false);
      auto lock = lock_run(run);
      RunDirectory made(std::move(run), std::move(lock));
      made.record_holder(job);
      return made;
    }
    if (errno != EEXIST) throw std::runtime_error("cannot create " + parent.path_of(id) + ": " + std::strerror(errno));
    if (++tv.tv_usec == 1000000) {
      tv.tv_usec = 0;
      ++tv.tv_sec;
    }
  }
  throw std::runtime_error("cannot find a free run id under " + experiment.string());
}

RunDirectory RunDirectory::open(const std::string& path) {
  const fs::path p(path);
  const pth::Folder parent = pth::Folder::open(p.parent_path().string());
  pth::Folder run = parent.child(p.filename().string(), false);
  auto lock = lock_run(run);
  return RunDirectory(std::move(run), std::move(lock));
}

void RunDirectory::record_holder(const std::string& job) const {
  const std::string path = folder_.path_of(kLockName);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const std::string holder = std::string(program_invocation_short_name) + " (pid " + std::to_string(::getpid()) +
                             " on " + host + ")" + (job.empty() ? "" : kJobTag + job) + "\n";
  const int fd = folder_.open_file(kLockName, O_WRONLY | O_TRUNC);
  const bool written = fd >= 0 && ::write(fd, holder.data(), holder.size()) == ssize_t(holder.size());
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!written) throw std::runtime_error("cannot write the run's lock file " + path + ": " + std::strerror(err));
}

void RunDirectory::remove_leftover_temp_files() const {
  pth::AtomicFile::remove_leftovers(folder_);
  for (const std::string& name : folder_.list()) {
    if (pth::AtomicFile::is_temp_name(name)) continue;
    try {
      pth::AtomicFile::remove_leftovers(folder_.child(name, false));
    } catch (const pth::Error&) {
      // not a folder (or a link to one): nothing of ours to clean inside
    }
  }
}

void RunDirectory::store_recipe(const Recipe& recipe) const {
  const StoredRecipe text = stored_recipe(recipe);
  const std::string where = folder_.path_of(".hydra");
  try {
    const pth::Folder hydra = subfolder(".hydra");
    pth::AtomicFile config(hydra, "config.yaml"), overrides(hydra, "overrides.yaml");
    config.write(pth::ByteView(text.config.data(), text.config.size()));
    overrides.write(pth::ByteView(text.overrides.data(), text.overrides.size()));
    config.commit();
    overrides.commit();
  } catch (const pth::Error& e) {
    throw run_write_error("the recipe in " + where, e);
  }
}

namespace {

// The experiment's run directories, newest first.
std::vector<std::string> runs_newest_first(const std::string& ckpt_root_dir, const std::string& experiment_name) {
  const fs::path experiment = fs::path(ckpt_root_dir) / experiment_name;
  std::error_code ec;
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(experiment, ec))
    if (entry.is_directory() && is_run_id(entry.path().filename().string())) runs.push_back(entry.path().string());
  std::sort(runs.rbegin(), runs.rend());
  return runs;
}

}  // namespace

std::optional<std::string> find_latest_run(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& ckpt_name) {
  for (const auto& run : runs_newest_first(ckpt_root_dir, experiment_name))
    if (fs::exists(fs::path(run) / ckpt_name)) return run;
  return std::nullopt;
}

std::optional<std::string> find_run_of_job(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& job) {
  const std::string tag = std::string(RunDirectory::kJobTag) + job + "\n";
  for (const auto& run : runs_newest_first(ckpt_root_dir, experiment_name)) {
    std::ifstream lock(fs::path(run) / RunDirectory::kLockName);
    const std::string text((std::istreambuf_iterator<char>(lock)), std::istreambuf_iterator<char>());
    if (text.size() >= tag.size() && text.compare(text.size() - tag.size(), tag.size(), tag) == 0) return run;
  }
  return std::nullopt;
}

}  // namespace sg
