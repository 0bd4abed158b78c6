#pragma once
// SuperGradients' RepVGG (classification_models/repvgg.py: `repvgg_a0`) in its training-time
// multi-branch form (build_residual_branches=True) behind sg::create_model (internal to
// lib/sg): SG's state-dict keys (`stem`, `stageN.M` with `no_conv_branch`, `branch_3x3.conv`
// / `.bn`, `branch_1x1.conv` / `.bn`; head `linear`), order, shapes and PyTorch's default
// initialisation (SG sets none).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/batch_norm.hpp"
#include "sg/models/model.hpp"

namespace sg::models {

struct RepVGGSpec {
  std::vector<int64_t> blocks;  // per stage (SG's struct)
  std::vector<double> widths;   // per stage (SG's width_multiplier)
};
RepVGGSpec repvgg_a0_spec();

// SG's RepVGGBlock: ReLU(3x3 conv+BN + 1x1 conv+BN [+ BN of the input when shapes allow]).
class RepVGGBlockImpl : public torch::nn::Module {
 public:
  RepVGGBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(torch::Tensor x);

 private:
  BatchNorm2d identity_{nullptr};
  torch::nn::Sequential branch_3x3_{nullptr}, branch_1x1_{nullptr};
};
TORCH_MODULE(RepVGGBlock);

class RepVGG : public Classifier {
 public:
  RepVGG(const RepVGGSpec& spec, const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return "linear"; }
  void reset_head(int64_t num_classes) override;

 private:
  std::vector<RepVGGBlock> blocks_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace sg::models
