#pragma once
// sg-ckpt-adapt from safetensors to safetensors when only the keys change: the header's
// entries are edited and written again with the data copied as it is, without building a
// tensor for each entry.
#include <string>

#include "key_edits.hpp"
#include "pth/adapt.hpp"
#include "pth/bytes.hpp"

namespace pth::adapt_detail {

// Whether the input at `path` (its bytes `file`) is read as safetensors.
bool reads_as_safetensors(const std::string& path, ByteView file);

// For options with no template, --average, --dtype or --ema and a safetensors output:
// false (nothing done) when o.input is not safetensors or has a tensor named "net" (the
// general path says why it is refused); else adapts it byte for byte as adapt() would,
// fills `r` and returns true. Throws AdaptError as adapt() does.
bool adapt_safetensors_keys(const AdaptOptions& o, const Edits& edits, AdaptResult& r);

}  // namespace pth::adapt_detail
