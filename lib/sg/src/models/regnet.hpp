#pragma once
// SuperGradients' RegNetY (classification_models/regnet.py: `regnetY200/400/600/800`) behind
// sg::create_model (internal to lib/sg): SG's state-dict keys (`net.stem`,
// `net.stage_N.blocks.block_M.conv_block_1.0` ..., `net.head.fc`), order, shapes and
// initialisation.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/model.hpp"

namespace sg::models {

// SG's RegNet design-space parameters (regnet_params_to_blocks): initial width w0, slope
// wa, quantisation wm, depth, group width, first-block stride and SE ratio (bottleneck 1).
struct RegNetSpec {
  double initial_width, slope, quantized_param;
  int64_t depth, group_width, stride, se_ratio;
};
RegNetSpec regnet_y200_spec();
RegNetSpec regnet_y400_spec();
RegNetSpec regnet_y600_spec();
RegNetSpec regnet_y800_spec();

// SG's XBlock: 1x1, grouped 3x3 (stride), squeeze-excitation, 1x1, plus the shortcut.
class XBlockImpl : public torch::nn::Module {
 public:
  XBlockImpl(int64_t in, int64_t out, int64_t group_width, int64_t stride, int64_t se_ratio, double droppath_prob);
  torch::Tensor forward(torch::Tensor x);

 private:
  double droppath_prob_;
  torch::nn::Sequential conv_block_1_{nullptr}, conv_block_2_{nullptr}, se_{nullptr}, conv_block_3_{nullptr},
      shortcut_{nullptr};
};
TORCH_MODULE(XBlock);

class RegNet : public Classifier {
 public:
  // options.params: dropout_prob (before the head's linear layer), droppath_prob.
  RegNet(const RegNetSpec& spec, const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return "net.head"; }
  void reset_head(int64_t num_classes) override;

 private:
  double dropout_;
  std::shared_ptr<torch::nn::Module> net_, head_;
  torch::nn::Sequential stem_{nullptr};
  std::vector<XBlock> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace sg::models
