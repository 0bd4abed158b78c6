#pragma once
// Where the checkpoint files of a training run go. The trainer's run output (every
// checkpoint, every averaging snapshot) implements it: the one place that will decide
// "global rank 0 only", "in the background" and "also to the remote".
#include <string>

#include "pth/folder.hpp"
#include "pth/value.hpp"

namespace sg {

class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  // Writes `checkpoint` atomically as `name` in `folder`. Throws pth::Error.
  virtual void write(const pth::Folder& folder, const std::string& name, const pth::Value& checkpoint) = 0;
  // Removes `name` from `folder` (a file the run no longer needs).
  virtual void remove(const pth::Folder& folder, const std::string& name) = 0;
  // Returns once what was written before is on disk (a sink may write in the background).
  virtual void flush() {}
};

// Straight to the local disk: pth::write_checkpoint and Folder::remove.
CheckpointSink& local_checkpoint_sink();

}  // namespace sg
