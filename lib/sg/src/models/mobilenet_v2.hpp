#pragma once
// SuperGradients' MobileNetV2 (classification_models/mobilenetv2.py, `mobilenet_v2`) behind
// sg::create_model (internal to lib/sg): SG's state-dict keys (`features.N...`,
// `classifier.1`), order, shapes and initialisation.
#include <memory>
#include <string>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "sg/models/model.hpp"

namespace sg::models {

class MobileNetV2 : public Classifier {
 public:
  // options.params: dropout (before the classifier's linear layer, as SG's).
  explicit MobileNetV2(const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return "classifier"; }
  void reset_head(int64_t num_classes) override;

 private:
  double dropout_;
  torch::nn::Sequential features_{nullptr};
  // SG's classifier is Sequential(Dropout, Linear): only the linear layer, "1", has state.
  std::shared_ptr<torch::nn::Module> classifier_;
  torch::nn::Linear linear_{nullptr};
};

}  // namespace sg::models
