#pragma once
// What a training run tells people: plain lines on stderr and in the run's
// log_<timestamp>.txt, and progress on stderr only: a one-line bar redrawn in place when
// stderr is a terminal, else a progress line every so many seconds.
#include <chrono>
#include <memory>
#include <string>

#include "pth/folder.hpp"
#include "sg/train/append_file.hpp"
#include "sg/train/progress.hpp"

namespace sg {

class TrainLog {
 public:
  TrainLog();
  // log_<timestamp>.txt in the run's folder (appended to when it exists, never through a
  // link). Throws RunWriteError.
  void open_file(const pth::Folder& run_dir);
  std::string file_path() const { return file_ ? file_->path() : ""; }
  // stderr and the file; a line the file cannot take is a RunWriteError (stderr is best
  // effort: a closed pipe there must not stop training).
  void line(const std::string& text);
  // Not a terminal: a progress line at most every `seconds` (0: at every report).
  void set_progress_every(double seconds) { progress_every_s_ = seconds; }
  // A terminal: redraws the bar, fitted to the terminal's width of the moment. Otherwise
  // prints progress_line() when the last one is `progress_every` seconds old.
  void progress(const ProgressReport& report);
  void clear_progress();

 private:
  using Clock = std::chrono::steady_clock;
  std::unique_ptr<AppendFile> file_;
  const bool terminal_;
  double progress_every_s_ = 30;
  bool progress_shown_ = false;
  Clock::time_point last_progress_ = Clock::now();
};

}  // namespace sg
