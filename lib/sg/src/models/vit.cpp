#include "models/vit.hpp"

#include <cmath>
#include <stdexcept>

#include <torch/nn/functional/activation.h>

#include "models/layers.hpp"

namespace sg::models {

ViTSpec vit_base_spec() { return {768, 12, 12, 3072}; }
ViTSpec vit_large_spec() { return {1024, 24, 16, 4096}; }
ViTSpec vit_huge_spec() { return {1280, 32, 16, 5120}; }

namespace {

// SG's LayerNorms all use eps 1e-6.
torch::nn::LayerNorm layer_norm(int64_t dim) { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6)); }

// An `arch_params` whole number (the registry has checked it is one).
int64_t whole(const ModelOptions& options, const std::string& name) { return int64_t(options.params.at(name)); }

}  // namespace

ViTAttentionImpl::ViTAttentionImpl(int64_t hidden_dim, int64_t heads)
    : heads_(heads), scale_(1.0 / std::sqrt(double(hidden_dim / heads))) {
  to_qkv_ = register_module("to_qkv", torch::nn::Linear(hidden_dim, 3 * hidden_dim));
  proj_ = register_module("proj", torch::nn::Linear(hidden_dim, hidden_dim));
}

torch::Tensor ViTAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1), c = x.size(2);
  const torch::Tensor qkv = to_qkv_->forward(x).reshape({b, n, 3, heads_, c / heads_}).permute({2, 0, 3, 1, 4});
  const torch::Tensor attn = (torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) * scale_).softmax(-1);
  return proj_->forward(torch::matmul(attn, qkv[2]).transpose(1, 2).reshape({b, n, c}));
}

ViTFeedForwardImpl::ViTFeedForwardImpl(int64_t hidden_dim, int64_t mlp_dim, double dropout) {
  fc1_ = register_module("fc1", torch::nn::Linear(hidden_dim, mlp_dim));
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  fc2_ = register_module("fc2", torch::nn::Linear(mlp_dim, hidden_dim));
}

torch::Tensor ViTFeedForwardImpl::forward(const torch::Tensor& x) {
  return dropout_->forward(fc2_->forward(dropout_->forward(torch::gelu(fc1_->forward(x)))));
}

ViTBlockImpl::ViTBlockImpl(const ViTSpec& spec, double dropout) {
  norm1_ = register_module("norm1", layer_norm(spec.hidden_dim));
  attn_ = register_module("attn", ViTAttention(spec.hidden_dim, spec.heads));
  norm2_ = register_module("norm2", layer_norm(spec.hidden_dim));
  mlp_ = register_module("mlp", ViTFeedForward(spec.hidden_dim, spec.mlp_dim, dropout));
}

torch::Tensor ViTBlockImpl::forward(torch::Tensor x) {
  x = attn_->forward(norm1_->forward(x)) + x;
  return mlp_->forward(norm2_->forward(x)) + x;
}

ViT::ViT(const ViTSpec& spec, const ModelOptions& options) {
  const int64_t image_size = whole(options, "image_size"), patch_size = whole(options, "patch_size");
  if (image_size % patch_size != 0)
    throw std::invalid_argument("arch_params.image_size: " + std::to_string(image_size) +
                                " is not a multiple of arch_params.patch_size " + std::to_string(patch_size));
  const int64_t patches = (image_size / patch_size) * (image_size / patch_size);
  // Parameters before modules: PyTorch's state dict lists a module's own first.
  cls_token_ = register_parameter("cls_token", torch::randn({1, 1, spec.hidden_dim}));
  pos_embedding_ = register_parameter("pos_embedding", torch::randn({1, patches + 1, spec.hidden_dim}));
  auto patch_embedding = register_module("patch_embedding", std::make_shared<torch::nn::Module>());
  patch_proj_ = patch_embedding->register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels, spec.hidden_dim, patch_size).stride(patch_size)));
  emb_dropout_ = register_module("dropout", torch::nn::Dropout(options.params.at("emb_dropout_prob")));
  auto transformer = register_module("transformer", std::make_shared<torch::nn::Module>());
  auto blocks = transformer->register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < spec.depth; ++i) {
    blocks_.push_back(ViTBlock(spec, options.params.at("dropout_prob")));
    blocks->push_back(blocks_.back());
  }
  pre_head_norm_ = register_module("pre_head_norm", layer_norm(spec.hidden_dim));
  head_ = register_module("head", torch::nn::Linear(spec.hidden_dim, options.num_classes));
}

torch::Tensor ViT::forward(torch::Tensor images) {
  torch::Tensor x = patch_proj_->forward(images).flatten(2).transpose(1, 2);
  const int64_t n = x.size(1);
  // SG adds the first n + 1 position embeddings, so a smaller input than image_size works.
  if (n + 1 > pos_embedding_.size(1))
    throw std::invalid_argument("vit: an input of " + std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
                                " gives " + std::to_string(n) + " patches, more than arch_params.image_size allows (" +
                                std::to_string(pos_embedding_.size(1) - 1) + ")");
  x = torch::cat({cls_token_.expand({x.size(0), -1, -1}), x}, 1) + pos_embedding_.slice(1, 0, n + 1);
  x = emb_dropout_->forward(x);
  for (auto& block : blocks_) x = block->forward(x);
  return head_->forward(pre_head_norm_->forward(x).select(1, 0));
}

void ViT::reset_head(int64_t num_classes) { head_ = replace_module("head", fresh_head(head_, num_classes)); }

}  // namespace sg::models
