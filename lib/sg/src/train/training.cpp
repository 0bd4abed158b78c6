#include "sg/train/training.hpp"

#include "train/trainer.hpp"

namespace sg {

Training::Training(Recipe recipe, const TrainingOptions& options)
    : trainer_(std::make_unique<Trainer>(std::move(recipe), options)) {}

Training::~Training() = default;

std::string Training::run() { return trainer_->train(); }

}  // namespace sg
