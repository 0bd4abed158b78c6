#include "sg/eval/metrics.hpp"

#include <stdexcept>

#include <torch/torch.h>

namespace sg {

void check_metric_names(const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (name != "Accuracy" && name != "Top5")
      throw std::invalid_argument("unknown metric '" + name + "' (known: Accuracy, Top5)");
}

MetricAccumulator::MetricAccumulator(std::vector<std::string> metrics, std::string loss_name)
    : metrics_(std::move(metrics)), loss_name_(std::move(loss_name)) {
  check_metric_names(metrics_);
}

void MetricAccumulator::add(const torch::Tensor& logits, const torch::Tensor& labels, double batch_loss) {
  torch::NoGradGuard no_grad;
  const int64_t n = labels.size(0);
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const torch::Tensor top = std::get<1>(logits.topk(k, 1));
  const torch::Tensor hits = top.eq(labels.view({-1, 1}));
  counts_.top1 += hits.select(1, 0).sum().item<int64_t>();
  counts_.top5 += hits.any(1).sum().item<int64_t>();
  counts_.loss_sum += batch_loss * double(n);
  counts_.samples += n;
}

MetricValues MetricAccumulator::values() const {
  MetricValues out;
  const double n = counts_.samples ? double(counts_.samples) : 1.0;
  for (const auto& name : metrics_) out[name] = double(name == "Accuracy" ? counts_.top1 : counts_.top5) / n;
  out[loss_name_] = counts_.loss_sum / n;
  return out;
}

}  // namespace sg
