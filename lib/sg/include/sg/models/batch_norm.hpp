#pragma once
// The BatchNorm2d every architecture builds with: LibTorch's BatchNorm2d (the same options,
// parameters, buffers, names, order and dtypes, and the same torch::batch_norm call, so
// checkpoints and runs are unchanged), which a data-parallel run can switch to statistics
// over all its processes (SG's `sync_bn: True`). It is not a torch::nn::BatchNorm2dImpl
// (LibTorch does not export what a class derived from that needs), so code that looks for
// batch norms asks for models::BatchNorm2d too.
#include <cstddef>
#include <cstdint>
#include <ostream>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/pimpl.h>

namespace sg {

class Collective;

namespace models {

class BatchNorm2dImpl : public torch::nn::NormImplBase<2, BatchNorm2dImpl, torch::nn::BatchNormOptions> {
 public:
  explicit BatchNorm2dImpl(const torch::nn::BatchNormOptions& options) : NormImplBase(options) {}
  explicit BatchNorm2dImpl(int64_t num_features) : BatchNorm2dImpl(torch::nn::BatchNormOptions(num_features)) {}

  // Ordinary mode: LibTorch's BatchNorm2d forward. Synchronised and training: the batch
  // statistics (mean, biased variance for the output; unbiased variance for running_var)
  // are those of the union of every process's batch, and the input gradient is that of
  // the union's loss sum; weight and bias get their local gradients, which averaging the
  // gradients over the processes turns into the whole batch's.
  torch::Tensor forward(const torch::Tensor& input);

  // Statistics over `collective`'s processes from now on (nullptr: local again). The
  // collective must outlive every forward and backward pass that uses it. A clone keeps it.
  void synchronise(Collective* collective) { collective_ = collective; }
  Collective* synchronised_with() const { return collective_; }

  void pretty_print(std::ostream& stream) const override;

 protected:
  void _check_input_dim(const torch::Tensor& input) override;

 private:
  Collective* collective_ = nullptr;
};
TORCH_MODULE(BatchNorm2d);

}  // namespace models

// Switches every models::BatchNorm2d of `model` to statistics over `collective`'s
// processes (in training mode; eval mode stays ordinary) and returns how many there are.
// Throws std::invalid_argument naming the module when the model holds a batch norm of
// another kind, which could not follow.
size_t enable_sync_batch_norm(torch::nn::Module& model, Collective& collective);

}  // namespace sg
