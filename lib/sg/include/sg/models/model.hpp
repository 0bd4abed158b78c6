#pragma once
// Image classifiers by name, with PyTorch-compatible state dict names.
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/types.h>

#include "sg/models/model_options.hpp"

namespace sg {

// A classifier: images (N, C, H, W) float -> logits (N, num_classes).
class Classifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  // State-dict prefix of the classification head ("fc", "linear", ...), replaced when a
  // checkpoint's class count differs; everything else is the backbone.
  virtual std::string head_name() const = 0;
  // Replaces the head with a freshly initialised one for `num_classes`.
  virtual void reset_head(int64_t num_classes) = 0;
};

// A model of a registered architecture (model_names()). Throws std::invalid_argument as
// validate_model_options does.
std::shared_ptr<Classifier> create_model(const std::string& name, const ModelOptions& options);

}  // namespace sg
