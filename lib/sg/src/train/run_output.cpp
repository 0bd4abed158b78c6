#include "train/run_output.hpp"

#include <filesystem>

#include "pth/error.hpp"
#include "recipe/run_errors.hpp"
#include "remote/remote_error.hpp"

namespace sg {
namespace {

// A file kept for its upload; a copy or link that cannot be made stops the run as a failed
// write of the run directory does.
void queue_upload(remote::Mirror& mirror, const std::string& relative, remote::Mirror::Snapshot how) {
  try {
    mirror.upload(relative, how);
  } catch (const remote::RemoteError& e) {
    throw RunWriteError(e.what());
  }
}

}  // namespace

void RunOutput::open(const RunDirectory& run, const Recipe& recipe) {
  if (silent_) return;
  run_ = &run;
  run.store_recipe(recipe);   // resuming with new overrides (max_epochs) records them
  log_.open_file(run.folder());
}

void RunOutput::open_events() {
  if (!silent_) events_ = std::make_unique<TensorBoardWriter>(run_->folder());
}

void RunOutput::open_records(ReportInfo info, std::optional<RunRecords::Continued> continued) {
  if (silent_) return;
  std::vector<std::string> notes;
  records_ = std::make_unique<RunRecords>(run_->folder(), std::move(info), continued, notes);
  for (const std::string& note : notes) line(note);
}

void RunOutput::record_epoch(EpochRow row) {
  if (silent_) return;
  const pth::Folder folder = run_->folder();
  remote::Mirror* mirror = mirror_ && mirrored_.logs ? mirror_.get() : nullptr;
  saves_->then([folder, mirror, files = records_->add_epoch(std::move(row))] {
    write_run_file(folder, record_files::kMetrics, files.metrics_csv);
    write_run_file(folder, record_files::kReport, files.report_html);
    if (mirror)
      for (const char* name : {record_files::kMetrics, record_files::kReport})
        queue_upload(*mirror, name, remote::Mirror::Snapshot::Copy);
  });
}

void RunOutput::begin_save() {
  if (!silent_) saves_->begin();
}

void RunOutput::mirror_to(const remote::Location& location, MirrorContent what) {
  if (silent_) return;
  mirror_ = std::make_unique<remote::Mirror>(run_->path(), location);
  mirrored_ = what;
  for (const char* stored : {".hydra/config.yaml", ".hydra/overrides.yaml"})
    if (std::filesystem::is_regular_file(std::filesystem::path(run_->path()) / stored))
      queue_upload(*mirror_, stored, remote::Mirror::Snapshot::Copy);
}

std::string RunOutput::relative_name(const pth::Folder& folder, const std::string& name) const {
  const std::filesystem::path full = std::filesystem::path(folder.path()) / name;
  return full.lexically_relative(run_->path()).generic_string();
}

void RunOutput::upload_once_written(std::vector<std::string> relative_names) {
  if (!mirror_ || !mirrored_.checkpoints) return;
  remote::Mirror* mirror = mirror_.get();
  saves_->then([mirror, relative_names] {
    for (const std::string& name : relative_names) queue_upload(*mirror, name, remote::Mirror::Snapshot::Link);
  });
}

void RunOutput::upload_logs() {
  if (silent_ || !mirror_) return;
  if (mirrored_.logs && !log_.file_path().empty())
    queue_upload(*mirror_, std::filesystem::path(log_.file_path()).filename().string(), remote::Mirror::Snapshot::Copy);
  if (mirrored_.events && events_)
    queue_upload(*mirror_, std::filesystem::path(events_->path()).filename().string(), remote::Mirror::Snapshot::Copy);
  if (mirrored_.logs && records_ && run_->folder().is_regular_file(record_files::kSteps))
    queue_upload(*mirror_, record_files::kSteps, remote::Mirror::Snapshot::Copy);
  for (const std::string& message : mirror_->take_messages()) line("upload: " + message);
}

void RunOutput::finish_uploads(double timeout_s) {
  if (silent_ || !mirror_) return;
  // Said before the last logs are taken, so that the remote log ends as the local one
  // (unless an upload's retries are logged after it).
  if (const size_t waiting = mirror_->waiting(); waiting > 0)
    line("waiting up to " + std::to_string(int64_t(timeout_s)) + " s for " + std::to_string(waiting) + " uploads");
  upload_logs();
  const std::vector<remote::Mirror::Failure> failed =
      mirror_->finish(std::chrono::duration<double>(timeout_s), [this](const std::string& said) { line("upload: " + said); });
  mirror_.reset();
  if (failed.empty()) return;
  std::string text = "cannot upload " + failed.front().local_path + " to " + failed.front().remote + ": " +
                     failed.front().error;
  if (failed.size() > 1) text += " (and " + std::to_string(failed.size() - 1) + " more files)";
  throw RunWriteError(text + "; the local copy is intact");
}

void RunOutput::finish_uploads_after_failure(double timeout_s) noexcept {
  try {
    finish_uploads(timeout_s);
  } catch (const std::exception& e) {
    line(std::string("also: ") + e.what());
  }
}

void RunOutput::write_checkpoint(const std::vector<std::string>& names, const pth::Value& checkpoint) {
  if (silent_) return;
  saves_->write(run_->folder(), names, checkpoint);
  upload_once_written(names);
}

void RunOutput::finish_saves() {
  if (!silent_) saves_->flush();
}

void RunOutput::finish_saves_after_failure() noexcept {
  try {
    finish_saves();
  } catch (const std::exception& e) {
    line(std::string("also: ") + e.what());
  }
}

void RunOutput::write(const pth::Folder& folder, const std::string& name, const pth::Value& checkpoint) {
  if (silent_) return;
  saves_->write(folder, {name}, checkpoint);
  upload_once_written({relative_name(folder, name)});
}

void RunOutput::remove(const pth::Folder& folder, const std::string& name) {
  if (silent_) return;
  saves_->remove(folder, name);
  if (!mirror_ || !mirrored_.checkpoints) return;
  remote::Mirror* mirror = mirror_.get();
  const std::string relative = relative_name(folder, name);
  saves_->then([mirror, relative] { mirror->remove(relative); });
}

void RunOutput::flush() { finish_saves(); }

}  // namespace sg
