#pragma once
// Classification metrics accumulated over an epoch: SG's Accuracy and Top5, plus the
// mean loss under the loss's name.
#include <string>
#include <vector>

#include <torch/types.h>

#include "sg/eval/metric_values.hpp"

namespace sg {

class MetricAccumulator {
 public:
  // `metrics`: names among "Accuracy", "Top5"; `loss_name` names the mean loss entry.
  MetricAccumulator(std::vector<std::string> metrics, std::string loss_name);
  void add(const torch::Tensor& logits, const torch::Tensor& labels, double batch_loss);
  MetricValues values() const;
  int64_t samples() const { return counts_.samples; }

  // What has been accumulated, so that an epoch interrupted mid-way resumes exactly.
  struct Counts {
    int64_t samples = 0, top1 = 0, top5 = 0;
    double loss_sum = 0;
  };
  const Counts& counts() const { return counts_; }
  void restore(const Counts& counts) { counts_ = counts; }

 private:
  std::vector<std::string> metrics_;
  std::string loss_name_;
  Counts counts_;
};

}  // namespace sg
