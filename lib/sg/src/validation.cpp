#include "sg/validation.hpp"

#include <malloc.h>

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

namespace sg {

torch::Device pick_device(const std::string& wanted) {
  if (wanted.empty()) return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  try {
    torch::Device device(wanted);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw RecipeError("training_hyperparams.device: '" + wanted + "' requested but CUDA is not available");
    return device;
  } catch (const c10::Error&) {
    throw RecipeError("training_hyperparams.device: unknown device '" + wanted + "'");
  }
}

Autocast::Autocast(bool enabled, const torch::Device& device) : enabled_(enabled), cuda_(device.is_cuda()) {
  if (!enabled_) return;
  if (cuda_) {
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  }
  at::autocast::increment_nesting();
}

Autocast::~Autocast() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) at::autocast::set_enabled(false);
  else at::autocast::set_cpu_enabled(false);
}

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void set_threads(int64_t num_threads) {
  torch::set_num_threads(num_threads > 0 ? int(num_threads) : int(std::max(1u, std::thread::hardware_concurrency())));
}

ValidationResult validate(Classifier& model, DataLoader& loader, const TrainingConfig& config,
                          const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model.eval();
  MetricAccumulator metrics(config.valid_metrics, config.loss_name);
  const auto options = torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(config.label_smoothing);
  loader.start_epoch(0);
  Batch batch;
  ValidationResult result;
  while (loader.next(batch)) {
    const torch::Tensor labels = batch.labels.to(device);
    torch::Tensor logits;
    {
      Autocast autocast(config.mixed_precision, device);
      logits = model.forward(batch.images.to(device)).to(torch::kFloat32);
    }
    metrics.add(logits, labels, torch::nn::functional::cross_entropy(logits, labels, options).item<double>());
    ++result.batches;
  }
  result.samples = metrics.samples();
  result.metrics = metrics.values();
  return result;
}

}  // namespace sg
