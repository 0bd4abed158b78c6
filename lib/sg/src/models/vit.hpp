#pragma once
// SuperGradients' Vision Transformer (classification_models/vit.py: `vit_base`, `vit_large`,
// `vit_huge`) behind sg::create_model (internal to lib/sg): SG's state-dict keys
// (`cls_token`, `pos_embedding`, `patch_embedding.proj`, `transformer.blocks.N.norm1`,
// `.attn.to_qkv` / `.attn.proj`, `.norm2`, `.mlp.fc1` / `.mlp.fc2`, `pre_head_norm`, head
// `head`), order, shapes and initialisation (cls token and position embedding randn, the
// rest PyTorch's defaults). arch_params: square image_size and patch_size, dropout_prob,
// emb_dropout_prob.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "sg/models/model.hpp"

namespace sg::models {

struct ViTSpec {
  int64_t hidden_dim, depth, heads, mlp_dim;
};
ViTSpec vit_base_spec();
ViTSpec vit_large_spec();
ViTSpec vit_huge_spec();

// SG's Attention: one Linear for q, k and v together, scaled dot product, output `proj`.
class ViTAttentionImpl : public torch::nn::Module {
 public:
  ViTAttentionImpl(int64_t hidden_dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  double scale_;
  torch::nn::Linear to_qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(ViTAttention);

// SG's FeedForward: fc1, exact GELU, fc2, the one dropout after each linear layer.
class ViTFeedForwardImpl : public torch::nn::Module {
 public:
  ViTFeedForwardImpl(int64_t hidden_dim, int64_t mlp_dim, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ViTFeedForward);

// SG's TransformerBlock: pre-norm attention and feed-forward, both residual.
class ViTBlockImpl : public torch::nn::Module {
 public:
  ViTBlockImpl(const ViTSpec& spec, double dropout);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  ViTAttention attn_{nullptr};
  ViTFeedForward mlp_{nullptr};
};
TORCH_MODULE(ViTBlock);

class ViT : public Classifier {
 public:
  ViT(const ViTSpec& spec, const ModelOptions& options);

  torch::Tensor forward(torch::Tensor images) override;
  std::string head_name() const override { return "head"; }
  void reset_head(int64_t num_classes) override;

 private:
  torch::Tensor cls_token_, pos_embedding_;
  torch::nn::Conv2d patch_proj_{nullptr};
  torch::nn::Dropout emb_dropout_{nullptr};
  std::vector<ViTBlock> blocks_;
  torch::nn::LayerNorm pre_head_norm_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace sg::models
