#include "sg/eval/validation.hpp"

#include <torch/torch.h>

#include "sg/runtime/device.hpp"

namespace sg {

ValidationResult validate(Classifier& model, DataLoader& loader, const TrainingConfig& config,
                          const torch::Device& device, Collective* collective, const ValidationProgress& progress) {
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
    const double loss = torch::nn::functional::cross_entropy(logits, labels, options).item<double>();
    metrics.add(logits, labels, loss);
    ++result.batches;
    if (progress) progress(result.batches, metrics.samples(), loss);
  }
  if (collective) {
    MetricAccumulator::Counts counts = metrics.counts();
    collective->sum_counts(counts);
    metrics.restore(counts);
  }
  result.samples = metrics.samples();
  result.metrics = metrics.values();
  return result;
}

}  // namespace sg
