#pragma once
// Which weights of an input sg-ckpt-adapt converts (pth::select_weights, SG's layout), and
// which weights of a template it matches them to.
#include <memory>
#include <optional>
#include <string>

#include "load.hpp"
#include "pth/adapt.hpp"
#include "weights.hpp"

namespace pth::adapt_detail {

struct Doc {
  std::string path;
  bool plain = true;          // the whole file is the state dict
  Value root;                 // the checkpoint dict (when !plain)
  Weights net;
  std::optional<Weights> ema; // ema_net, kept (and edited) alongside net
  bool safetensors = false;
  StringPairs metadata;
  std::shared_ptr<const void> keep;
};

// net (ema_net with o.ema) or the plain state dict; ema_net alongside unless o.ema or
// o.weights_only. Throws AdaptError when the weights asked for are not there.
Doc select_input(Loaded loaded, const AdaptOptions& o);

// The template's net, else its ema_net, else the template itself as a state dict.
Weights template_weights(const Loaded& t);

}  // namespace pth::adapt_detail
