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

void RunOutput::write_checkpoint(const std::string& name, const pth::Value& checkpoint) {
  if (silent_) return;
  try {
    write(run_->folder(), name, checkpoint);
  } catch (const pth::Error& e) {
    throw run_write_error("checkpoint " + run_->folder().path_of(name), e);
  }
}

void RunOutput::write(const pth::Folder& folder, const std::string& name, const pth::Value& checkpoint) {
  if (!silent_) local_checkpoint_sink().write(folder, name, checkpoint);
}

void RunOutput::remove(const pth::Folder& folder, const std::string& name) {
  if (!silent_) local_checkpoint_sink().remove(folder, name);
}

}  // namespace sg
