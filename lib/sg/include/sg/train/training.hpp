#pragma once
// A training run: a recipe in, a SuperGradients run directory out. Starts a new run,
// continues one in place (resume / run_id), or branches from a checkpoint (resume_path).
#include <cstdint>
#include <memory>
#include <string>

#include "recipe/recipe.hpp"
#include "recipe/run_errors.hpp"
#include "sg/train/training_errors.hpp"

namespace sg {

class Trainer;

struct TrainingOptions {
  std::string zoo;   // model zoo for checkpoint_params.pretrained_weights; "": $SG_MODEL_ZOO, else ~/.cache/sg-models
  std::string program = "sg-train";   // named in the checkpoints' `packages` entry
  // Under torchrun: how long a collective waits for the other workers before the run fails
  // (a lost worker), and joining them at the start.
  double collective_timeout_s = 300;
  // stderr not a terminal: a progress line every so many seconds (0: after every batch).
  double progress_every_s = 30;
};

// How many local workers the program must start itself for this recipe (SG's multi_gpu:
// DDP with num_gpus: N > 1, no torchrun variables set): N, or 0 when this process trains,
// alone or as one of torchrun's workers. Throws RecipeError as Training would.
int64_t workers_to_start(const Recipe& recipe);

class Training {
 public:
  // Builds the model, data and optimizer and, when the recipe resumes, finds and checks
  // the checkpoint (and the run's averaging snapshots) to continue from. Everything that
  // fails here is bad input, and nothing has been written yet.
  Training(Recipe recipe, const TrainingOptions& options = {});
  ~Training();

  // Trains up to max_epochs; returns the run directory ("" on a data-parallel worker other
  // than rank 0, which writes nothing). Throws RunDirError, before any
  // file is written, when the run directory cannot be created or written; RunWriteError
  // when a file of the run cannot be written; TrainingInterrupted after a stop signal;
  // TrainingDiverged (check_finite) when the loss or the weights stop being finite.
  std::string run();

 private:
  std::unique_ptr<Trainer> trainer_;
};

}  // namespace sg
