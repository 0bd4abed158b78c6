#include "sg/run_dir.hpp"

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "pth/atomic_file.hpp"

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

}  // namespace

std::string make_run_id() {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  return format_run_id(tv);
}

bool is_run_id(const std::string& name) { return name.rfind("RUN_", 0) == 0; }

std::string create_run_dir(const std::string& ckpt_root_dir, const std::string& experiment_name) {
  const fs::path experiment = fs::path(ckpt_root_dir) / experiment_name;
  std::error_code ec;
  fs::create_directories(experiment, ec);
  if (ec) throw std::runtime_error("cannot create " + experiment.string() + ": " + ec.message());
  timeval tv{};
  gettimeofday(&tv, nullptr);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const fs::path run = experiment / format_run_id(tv);
    if (fs::create_directory(run, ec)) return run.string();
    if (ec) throw std::runtime_error("cannot create " + run.string() + ": " + ec.message());
    if (++tv.tv_usec == 1000000) {
      tv.tv_usec = 0;
      ++tv.tv_sec;
    }
  }
  throw std::runtime_error("cannot find a free run id under " + experiment.string());
}

std::optional<std::string> find_latest_run(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& ckpt_name) {
  const fs::path experiment = fs::path(ckpt_root_dir) / experiment_name;
  std::error_code ec;
  std::vector<std::string> runs;
  for (const auto& entry : fs::directory_iterator(experiment, ec))
    if (entry.is_directory() && is_run_id(entry.path().filename().string())) runs.push_back(entry.path().string());
  std::sort(runs.rbegin(), runs.rend());
  for (const auto& run : runs)
    if (fs::exists(fs::path(run) / ckpt_name)) return run;
  return std::nullopt;
}

void remove_stale_temp_files(const std::string& run_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec))
    if (pth::AtomicFile::is_temp_name(entry.path().filename().string())) fs::remove(entry.path(), ec);
}

}  // namespace sg
