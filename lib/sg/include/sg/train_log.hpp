#pragma once
// What a training run tells people: plain lines on stderr and in the run's
// log_<timestamp>.txt, and a one-line progress bar when stderr is a terminal.
#include <chrono>
#include <cstdio>
#include <string>

namespace sg {

class TrainLog {
 public:
  TrainLog() = default;
  ~TrainLog();
  void open_file(const std::string& run_dir);   // log_<timestamp>.txt in the run dir
  void line(const std::string& text);           // stderr and the file
  // Redraws the progress bar (terminal only); a new phase restarts its clock.
  void progress(const std::string& phase, int64_t done, int64_t total, double loss, double images_per_second);
  void clear_progress();

 private:
  std::FILE* file_ = nullptr;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point phase_start_ = std::chrono::steady_clock::now();
  int64_t last_done_ = -1;
};

}  // namespace sg
