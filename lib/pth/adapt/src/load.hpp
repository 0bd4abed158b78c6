#pragma once
// Reading an input of sg-ckpt-adapt: a .pth checkpoint (zip or legacy) or a safetensors file.
#include <memory>
#include <string>

#include "pth/safetensors.hpp"
#include "pth/value.hpp"

namespace pth::adapt_detail {

struct Loaded {
  std::string path;
  Value root;
  bool safetensors = false;
  StringPairs metadata;
  std::shared_ptr<const void> keep;   // the Checkpoint / SafetensorsFile behind the tensors
};

// Throws AdaptError naming `path` when it cannot be read.
Loaded load_any(const std::string& path);

}  // namespace pth::adapt_detail
