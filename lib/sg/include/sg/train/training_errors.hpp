#pragma once
// How a training run stops before its last epoch, other than by bad input or a failed write
// (recipe/run_errors.hpp).
#include <stdexcept>
#include <string>

namespace sg {

// SIGINT/SIGTERM/SIGHUP stopped the run after its current step; ckpt_latest.pth holds the
// exact position to resume from. what() says how to resume; run_dir() is the run directory
// on the worker that prints it (global rank 0), "" on the others.
class TrainingInterrupted : public std::runtime_error {
 public:
  TrainingInterrupted(const std::string& what, std::string run_dir)
      : std::runtime_error(what), run_dir_(std::move(run_dir)) {}
  const std::string& run_dir() const { return run_dir_; }

 private:
  std::string run_dir_;
};

// training_hyperparams.check_finite: the loss or the weights became NaN or infinite;
// the run stopped before writing anything of that step.
class TrainingDiverged : public std::runtime_error {
 public:
  explicit TrainingDiverged(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace sg
