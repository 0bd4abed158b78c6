#include "train/loss.hpp"

#include <torch/nn/functional/loss.h>

namespace sg {

torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& targets,
                            const torch::nn::functional::CrossEntropyFuncOptions& options) {
  if (!targets.defined()) return torch::nn::functional::cross_entropy(logits, labels, options);
  return -(targets * torch::log_softmax(logits, -1)).sum(-1).mean();
}

}  // namespace sg
