#pragma once
// SuperGradients' MobileNetV3 (classification_models/mobilenetv3.py, `mobilenet_v3_large` and
// `mobilenet_v3_small`) behind sg::create_model (internal to lib/sg): SG's state-dict keys
// (`features.N.conv.M`, `conv.0`, `classifier.0` / `classifier.3`), order, shapes and
// initialisation.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/model.hpp"

namespace sg::models {

// One row of SG's cfgs: kernel, expansion, output channels, squeeze-excitation, hard swish
// (else ReLU), stride.
struct MobileNetV3Block {
  int64_t kernel;
  double expand;
  int64_t out;
  bool se, hswish;
  int64_t stride;
};

struct MobileNetV3Spec {
  std::vector<MobileNetV3Block> blocks;
  int64_t last_channel;  // the classifier's hidden width (large 1280, small 1024)
};
MobileNetV3Spec mobilenet_v3_large_spec();
MobileNetV3Spec mobilenet_v3_small_spec();

class MobileNetV3 : public Classifier {
 public:
  // options.params: width_mult.
  MobileNetV3(const MobileNetV3Spec& spec, const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  // SG's replace_head swaps classifier[-1], the only layer that depends on the class count.
  std::string head_name() const override { return "classifier.3"; }
  void reset_head(int64_t num_classes) override;

 private:
  torch::nn::Sequential features_{nullptr}, conv_{nullptr};
  // SG's classifier is Sequential(Linear, h_swish, Dropout(0.2), Linear): "0" and "3" hold state.
  std::shared_ptr<torch::nn::Module> classifier_;
  torch::nn::Linear hidden_{nullptr}, linear_{nullptr};
};

}  // namespace sg::models
