#pragma once
// A state dict as ordered, renamable entries: what every stage of sg-ckpt-adapt edits.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pth/key_matching.hpp"
#include "pth/value.hpp"

namespace pth::adapt_detail {

struct Entry {
  std::string name;
  Value value;
  std::string_view original;   // the name in the input (a key of its tree, kept by Doc::keep), for messages
};

struct Weights {
  std::string file;       // for messages
  std::string which;      // "net", "ema_net", "state dict"
  std::vector<Entry> entries;
  bool ordered = true;
  std::shared_ptr<Value> metadata;
};

// Throws AdaptError when `v` is not a dict with string keys.
Weights weights_of(const Value& v, const std::string& file, const std::string& which);
Value to_value(Weights w);
std::string what_of(const Weights& w);   // "net: ", "ema_net: ", or "" for a plain state dict
std::vector<KeyEntry> key_entries(const Weights& w);   // throws AdaptError for an entry that is not a tensor

}  // namespace pth::adapt_detail
