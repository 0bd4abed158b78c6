#pragma once
// The training loss (internal to lib/sg): SG's CrossEntropyLoss on a batch's class indices
// or on its probability targets (sg::Batch::targets, from CollateMixup).
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

namespace sg {

// With `targets` undefined: torch's cross entropy of `labels` under `options` (label
// smoothing from criterion_params.smooth_eps). With (N, classes) probability `targets`:
// -(targets * log_softmax(logits)).sum(-1).mean(), as SG's cross_entropy computes it; SG
// smooths such a target only with a smooth_dist, which nothing sets, so `options`' label
// smoothing does not apply to it.
torch::Tensor training_loss(const torch::Tensor& logits, const torch::Tensor& labels, const torch::Tensor& targets,
                            const torch::nn::functional::CrossEntropyFuncOptions& options);

}  // namespace sg
