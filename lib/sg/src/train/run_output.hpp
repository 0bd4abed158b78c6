#pragma once
// Every file and log line a training run writes: checkpoints, averaging snapshots (as the
// averager's CheckpointSink), the log, the TensorBoard events, the stored recipe and the
// records (metrics.csv, steps.csv, report.html: train/run_records.hpp). It is
// the one place that decides "global rank 0 only" (the other workers' output is silenced),
// "in the background" (its SaveQueue) and "also to the remote" (its remote::Mirror).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pth/value.hpp"
#include "recipe/recipe.hpp"
#include "recipe/run_dir.hpp"
#include "remote/location.hpp"
#include "remote/mirror.hpp"
#include "sg/checkpoint/checkpoint_sink.hpp"
#include "sg/checkpoint/save_queue.hpp"
#include "sg/train/tensorboard.hpp"
#include "sg/train/train_log.hpp"
#include "train/run_records.hpp"

namespace sg {

class RunOutput final : public CheckpointSink {
 public:
  // Stores the recipe in `run` (.hydra/) and opens the run's log file; lines logged before
  // went to stderr only. `run` must outlive this. Throws RunWriteError / pth::Error.
  void open(const RunDirectory& run, const Recipe& recipe);
  // The TensorBoard events file. Throws RunWriteError.
  void open_events();
  // A data-parallel worker other than global rank 0: from now on nothing is written or logged.
  void silence() { silent_ = true; }

  void line(const std::string& text) {
    if (!silent_) log_.line(text);
  }
  void set_progress_every(double seconds) { log_.set_progress_every(seconds); }
  void progress(const ProgressReport& report) {
    if (!silent_) log_.progress(report);
  }
  void clear_progress() {
    if (!silent_) log_.clear_progress();
  }

  void scalar(const std::string& tag, double value, int64_t step) {
    if (!silent_) events_->add_scalar(tag, value, step);
  }
  void flush_scalars() {
    if (!silent_) events_->flush();
  }

  // After open(): the run's records, continued from an earlier run's (in place) or new.
  // Throws RunWriteError.
  void open_records(ReportInfo info, std::optional<RunRecords::Continued> continued);
  void record_step(const StepRow& row) {
    if (!silent_) records_->add_step(row);
  }
  // metrics.csv and report.html rewritten with the epoch's row, once the checkpoints queued
  // before are written (in the background with them); a failure is the saves' RunWriteError.
  void record_epoch(EpochRow row);

  // After open(): from now on the run directory is mirrored to `location` in the
  // background: each checkpoint once written here, the stored recipe now, and with
  // `logs` / `events` the log and TensorBoard files at each upload_logs().
  struct MirrorContent {
    bool checkpoints = true;
    bool logs = false;
    bool events = false;
  };
  void mirror_to(const remote::Location& location, MirrorContent what);
  // Queues the log and events files (as mirrored) and logs the uploads' retry lines.
  void upload_logs();
  // After finish_saves(): the last logs, then waits up to `timeout_s` for every upload.
  // Throws RunWriteError ("cannot upload <file> to <remote>: ...; the local copy is intact").
  void finish_uploads(double timeout_s);
  void finish_uploads_after_failure(double timeout_s) noexcept;

  // Checkpoints written on a thread of their own from now on (async_checkpoint).
  void write_in_background() { saves_ = std::make_unique<SaveQueue>(/*background=*/true); }
  // A save's files follow, once the previous save is written. Throws the RunWriteError of
  // a failed earlier save.
  void begin_save();
  // `checkpoint` in the run directory as names[0], atomically, the other names linked to
  // it. Throws RunWriteError ("cannot write checkpoint <path>: ...").
  void write_checkpoint(const std::vector<std::string>& names, const pth::Value& checkpoint);
  // Waits for every save; throws the RunWriteError of a failed one.
  void finish_saves();
  // The same after a failure of the caller's: what failed is logged, not thrown.
  void finish_saves_after_failure() noexcept;
  SaveQueue::Stats take_save_stats() { return saves_->take_stats(); }
  bool saves_in_background() const { return saves_->background(); }

  void write(const pth::Folder& folder, const std::string& name, const pth::Value& checkpoint) override;
  void remove(const pth::Folder& folder, const std::string& name) override;
  void flush() override;

 private:
  bool silent_ = false;
  const RunDirectory* run_ = nullptr;
  TrainLog log_;
  std::unique_ptr<TensorBoardWriter> events_;
  std::unique_ptr<RunRecords> records_;
  // Before saves_: the saves' writer thread queues uploads until saves_ is gone.
  std::unique_ptr<remote::Mirror> mirror_;
  MirrorContent mirrored_;
  std::unique_ptr<SaveQueue> saves_ = std::make_unique<SaveQueue>(/*background=*/false);

  // The name of folder/name relative to the run directory, '/'-separated.
  std::string relative_name(const pth::Folder& folder, const std::string& name) const;
  void upload_once_written(std::vector<std::string> relative_names);
};

}  // namespace sg
