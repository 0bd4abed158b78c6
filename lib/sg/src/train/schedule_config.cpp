#include "train/schedule_config.hpp"

#include <stdexcept>

namespace sg {
namespace {

LrSchedule read_sg_schedule(const Recipe& r, int64_t max_epochs) {
  const std::string p = "training_hyperparams.";
  LrSchedule s;
  s.mode = r.get_or<std::string>(p + "lr_mode", "");
  if (is_torch_scheduler(s.mode)) s.mode = "";  // PyTorch's schedulers drive the rate instead
  else if (!s.mode.empty() && s.mode != "StepLRScheduler" && s.mode != "CosineLRScheduler")
    throw RecipeError(p + "lr_mode: unknown schedule '" + s.mode + "' (known: StepLRScheduler, CosineLRScheduler, " +
                      torch_scheduler_names() + ")");
  s.initial_lr = r.get<double>(p + "initial_lr");
  s.lr_updates = r.get_or<std::vector<int64_t>>(p + "lr_updates", {});
  s.lr_decay_factor = r.get_or<double>(p + "lr_decay_factor", 0.1);
  s.cosine_final_lr_ratio = r.get_or<double>(p + "cosine_final_lr_ratio", 0.01);
  s.warmup_epochs = r.get_or<int64_t>(p + "lr_warmup_epochs", 0);
  if (r.has(p + "warmup_initial_lr") && !r.node(p + "warmup_initial_lr").IsNull())
    s.warmup_initial_lr = r.get<double>(p + "warmup_initial_lr");
  s.max_epochs = max_epochs;
  return s;
}

}  // namespace

void read_schedule(const Recipe& r, TrainingConfig& c) {
  const std::string p = "training_hyperparams.";
  c.lr = read_sg_schedule(r, c.max_epochs);
  const std::string lr_mode = r.get_or<std::string>(p + "lr_mode", "");
  if (is_torch_scheduler(lr_mode)) {
    c.torch_scheduler = lr_mode;
    try {
      if (r.has(p + "torch_scheduler_params"))
        c.torch_scheduler_params = torch_scheduler_params_from_yaml(r.node(p + "torch_scheduler_params"));
    } catch (const std::invalid_argument& e) {
      throw RecipeError(p + "torch_scheduler_params: " + e.what());
    }
  }
}

}  // namespace sg
