#include "sg/train/train_log.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace sg {
namespace {

// A terminal's bar is redrawn at most this often: a fast loop must not spend its time drawing.
constexpr double kRedrawSeconds = 0.1;

// Asked at each redraw, so that a resized window is fitted at the next one.
int terminal_width() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string timestamp(const char* format) {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &local);
  return buf;
}

}  // namespace

TrainLog::TrainLog() : terminal_(isatty(STDERR_FILENO) == 1) {}

void TrainLog::open_file(const pth::Folder& run_dir) {
  file_ = std::make_unique<AppendFile>(run_dir, "log_" + timestamp("%b%d_%H_%M_%S") + ".txt", AppendFile::Mode::Append);
}

void TrainLog::line(const std::string& text) {
  clear_progress();
  std::fprintf(stderr, "%s\n", text.c_str());
  if (file_) file_->append("[" + timestamp("%Y-%m-%d %H:%M:%S") + "] " + text + "\n");
}

void TrainLog::progress(const ProgressReport& report) {
  const Clock::time_point now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_progress_).count();
  if (!terminal_) {
    if (since_last < progress_every_s_) return;
    std::fprintf(stderr, "%s\n", progress_line(report).c_str());
    last_progress_ = now;
    return;
  }
  if (progress_shown_ && since_last < kRedrawSeconds) return;
  std::fprintf(stderr, "\r%s\x1b[K", progress_bar(report, terminal_width(), std::getenv("NO_COLOR") == nullptr).c_str());
  progress_shown_ = true;
  last_progress_ = now;
}

void TrainLog::clear_progress() {
  if (!progress_shown_) return;
  std::fprintf(stderr, "\r\x1b[K");
  progress_shown_ = false;
}

}  // namespace sg
