#pragma once
// Which weights of an input sg-ckpt-adapt converts (pth::choose_weights: --key, else the
// detected layout), and which weights of a template it matches them to.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "load.hpp"
#include "pth/adapt.hpp"
#include "weights.hpp"

namespace pth::adapt_detail {

struct Doc {
  std::string path;
  bool plain = true;          // written as a plain state dict (the whole file, or weights of another layout)
  Value root;                 // the checkpoint dict (when !plain)
  Weights net;
  Value chosen;               // the weights chosen, whose names `net`'s entries point into
  WeightsSource source;       // which weights of the file `net` is
  std::vector<std::string> notes;
  std::optional<Weights> ema; // ema_net, kept (and edited) alongside net
  bool safetensors = false;
  StringPairs metadata;
  std::shared_ptr<const void> keep;
};

// o.key, else net (ema_net with o.ema) or the plain state dict; ema_net alongside unless
// o.ema or o.weights_only. Another layout's weights (timm, torchvision, Lightning, a key
// path) become a plain state dict as the model names them. Throws AdaptError when the
// weights asked for are not there.
Doc select_input(Loaded loaded, const AdaptOptions& o);

// The template's net, else its ema_net, else the template itself as a state dict.
Weights template_weights(const Loaded& t);

}  // namespace pth::adapt_detail
