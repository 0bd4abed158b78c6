#pragma once
// How a training run stops before its last epoch, other than by bad input or a failed write
// (recipe/run_errors.hpp).
#include <stdexcept>
#include <string>

namespace sg {

// SIGINT/SIGTERM/SIGHUP stopped the run after its current step; ckpt_latest.pth holds the
// exact position to resume from. what() says how to resume.
class TrainingInterrupted : public std::runtime_error {
 public:
  explicit TrainingInterrupted(const std::string& what) : std::runtime_error(what) {}
};

// training_hyperparams.check_finite: the loss or the weights became NaN or infinite;
// the run stopped before writing anything of that step.
class TrainingDiverged : public std::runtime_error {
 public:
  explicit TrainingDiverged(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace sg
