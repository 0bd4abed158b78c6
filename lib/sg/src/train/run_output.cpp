#include "train/run_output.hpp"

#include "pth/error.hpp"
#include "recipe/run_errors.hpp"

namespace sg {

void RunOutput::open(const RunDirectory& run, const Recipe& recipe) {
  if (silent_) return;
  run_ = &run;
  run.store_recipe(recipe);   // resuming with new overrides (max_epochs) records them
  log_.open_file(run.folder());
}

void RunOutput::open_events() {
  if (!silent_) events_ = std::make_unique<TensorBoardWriter>(run_->folder());
}

void RunOutput::begin_save() {
  if (!silent_) saves_->begin();
}

void RunOutput::write_checkpoint(const std::vector<std::string>& names, const pth::Value& checkpoint) {
  if (!silent_) saves_->write(run_->folder(), names, checkpoint);
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
  if (!silent_) saves_->write(folder, {name}, checkpoint);
}

void RunOutput::remove(const pth::Folder& folder, const std::string& name) {
  if (!silent_) saves_->remove(folder, name);
}

void RunOutput::flush() { finish_saves(); }

}  // namespace sg
