#include "sg/train/train_log.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace sg {
namespace {

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::string timestamp(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &local);
  return buf;
}

}  // namespace

void TrainLog::open_file(const pth::Folder& run_dir) {
  file_ = std::make_unique<AppendFile>(run_dir, "log_" + timestamp("%b%d_%H_%M_%S") + ".txt", AppendFile::Mode::Append);
}

void TrainLog::line(const std::string& text) {
  clear_progress();
  std::fprintf(stderr, "%s\n", text.c_str());
  if (file_) file_->append("[" + timestamp("%Y-%m-%d %H:%M:%S") + "] " + text + "\n");
}

void TrainLog::progress(const std::string& phase, int64_t done, int64_t total, double loss, double images_per_second) {
  if (!stderr_is_terminal()) return;
  if (done < last_done_ || last_done_ < 0) phase_start_ = std::chrono::steady_clock::now();
  last_done_ = done;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - phase_start_).count();
  const double eta = done > 0 ? elapsed * double(total - done) / double(done) : 0;
  const int width = 24;
  const int filled = total > 0 ? int(width * done / total) : 0;
  const bool color = std::getenv("NO_COLOR") == nullptr;
  std::fprintf(stderr, "\r%s %s%s%s%s %lld/%lld loss %.4f %.0f img/s ETA %.0fs \x1b[K", phase.c_str(),
               color ? "\x1b[32m" : "", std::string(size_t(filled), '#').c_str(), color ? "\x1b[0m" : "",
               std::string(size_t(width - filled), '.').c_str(), static_cast<long long>(done),
               static_cast<long long>(total), loss, images_per_second, eta);
  progress_shown_ = true;
}

void TrainLog::clear_progress() {
  if (!progress_shown_) return;
  std::fprintf(stderr, "\r\x1b[K");
  progress_shown_ = false;
  last_done_ = -1;
}

}  // namespace sg
