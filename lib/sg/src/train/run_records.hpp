#pragma once
// A run directory's records of what the run did: metrics.csv (one row per epoch, rewritten
// from the history at each epoch), steps.csv (one row per optimizer step, appended) and
// report.html (rendered from both). A run continued in place keeps the rows of what came
// before the point it continues from; a new run or a branch starts them anew. RunOutput
// decides when and on which thread the rewritten files are written. No LibTorch.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pth/folder.hpp"
#include "sg/train/append_file.hpp"
#include "train/run_history.hpp"
#include "train/run_report.hpp"

namespace sg {

// The records' names in the run directory.
namespace record_files {
constexpr const char* kMetrics = "metrics.csv";
constexpr const char* kSteps = "steps.csv";
constexpr const char* kReport = "report.html";
}  // namespace record_files

class RunRecords {
 public:
  struct Continued {
    int64_t finished_epochs = 0;   // metrics.csv keeps epochs 1..finished_epochs
    int64_t first_step = 0;        // steps.csv keeps the steps before it
  };
  // Reads what a continued run keeps and rewrites steps.csv to it; `notes` gets a line for
  // an earlier file that cannot be read (it is started anew). Throws RunWriteError.
  RunRecords(const pth::Folder& run, ReportInfo info, std::optional<Continued> continued, std::vector<std::string>& notes);

  // steps.csv gets the row at once. Throws RunWriteError.
  void add_step(const StepRow& row);
  // The epoch's row, its elapsed_seconds counted from the first run's start (as far as the
  // kept rows tell); returns the new contents of metrics.csv and report.html.
  struct Files {
    std::string metrics_csv, report_html;
  };
  Files add_epoch(EpochRow row);

 private:
  ReportInfo info_;
  MetricsTable epochs_;
  std::vector<StepRow> steps_;
  std::unique_ptr<AppendFile> steps_file_;
  double elapsed_before_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// `text` as `name` in `folder`, atomically. Throws RunWriteError ("cannot write <path>: ...").
void write_run_file(const pth::Folder& folder, const std::string& name, const std::string& text);

}  // namespace sg
