#include "train/run_records.hpp"

#include <algorithm>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "recipe/run_errors.hpp"

namespace sg {
namespace {

using record_files::kMetrics;
using record_files::kSteps;
constexpr uint64_t kMaxRecordBytes = uint64_t(1) << 30;

// The file's text, "" when there is none; a link in its place is not followed.
std::string read_record(const pth::Folder& run, const std::string& name) {
  if (!run.exists(name)) return "";
  if (!run.is_regular_file(name)) throw pth::Error("not a regular file");
  return pth::read_input_file(run.path_of(name), kMaxRecordBytes);
}

}  // namespace

void write_run_file(const pth::Folder& folder, const std::string& name, const std::string& text) {
  try {
    pth::AtomicFile file(folder, name);
    file.write(pth::ByteView(text.data(), text.size()));
    file.commit();
  } catch (const pth::Error& e) {
    throw run_write_error(folder.path_of(name), e);
  }
}

RunRecords::RunRecords(const pth::Folder& run, ReportInfo info, std::optional<Continued> continued,
                       std::vector<std::string>& notes)
    : info_(std::move(info)) {
  if (!continued) {
    steps_file_ = std::make_unique<AppendFile>(run, kSteps, AppendFile::Mode::CreateNew);
    steps_file_->append(kStepsHeader);
    return;
  }
  try {
    epochs_ = MetricsTable::from_csv(read_record(run, kMetrics));
    epochs_.keep_up_to(continued->finished_epochs);
    if (!epochs_.rows().empty()) elapsed_before_ = epochs_.rows().back().elapsed_seconds;
  } catch (const std::exception& e) {
    if (run.exists(kMetrics))
      notes.push_back("warning: " + run.path_of(kMetrics) + ": " + e.what() + "; it restarts with this run's epochs");
    epochs_ = MetricsTable();
  }
  try {
    std::string text = read_record(run, kSteps);
    text.erase(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);   // a row cut short by a crash
    steps_ = steps_from_csv(text);
    steps_.erase(std::remove_if(steps_.begin(), steps_.end(), [&](const StepRow& s) { return s.step >= continued->first_step; }),
                 steps_.end());
  } catch (const std::exception& e) {
    if (run.exists(kSteps))
      notes.push_back("warning: " + run.path_of(kSteps) + ": " + e.what() + "; it restarts with this run's steps");
    steps_.clear();
  }
  std::string kept = kStepsHeader;
  for (const StepRow& s : steps_) kept += step_csv_line(s);
  write_run_file(run, kSteps, kept);
  steps_file_ = std::make_unique<AppendFile>(run, kSteps, AppendFile::Mode::Append);
}

void RunRecords::add_step(const StepRow& row) {
  steps_file_->append(step_csv_line(row));
  steps_.push_back(row);
}

RunRecords::Files RunRecords::add_epoch(EpochRow row) {
  row.elapsed_seconds = elapsed_before_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  epochs_.add(std::move(row));
  return {epochs_.to_csv(), render_run_report(info_, epochs_, steps_)};
}

}  // namespace sg
