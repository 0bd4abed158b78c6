#pragma once
// What a training run tells people: plain lines on stderr and in the run's
// log_<timestamp>.txt, and a one-line progress bar when stderr is a terminal.
#include <chrono>
#include <memory>
#include <string>

#include "pth/folder.hpp"
#include "sg/train/append_file.hpp"

namespace sg {

class TrainLog {
 public:
  // log_<timestamp>.txt in the run's folder (appended to when it exists, never through a
  // link). Throws RunWriteError.
  void open_file(const pth::Folder& run_dir);
  std::string file_path() const { return file_ ? file_->path() : ""; }
  // stderr and the file; a line the file cannot take is a RunWriteError (stderr is best
  // effort: a closed pipe there must not stop training).
  void line(const std::string& text);
  // Redraws the progress bar (terminal only); a new phase restarts its clock.
  void progress(const std::string& phase, int64_t done, int64_t total, double loss, double images_per_second);
  void clear_progress();

 private:
  std::unique_ptr<AppendFile> file_;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point phase_start_ = std::chrono::steady_clock::now();
  int64_t last_done_ = -1;
};

}  // namespace sg
