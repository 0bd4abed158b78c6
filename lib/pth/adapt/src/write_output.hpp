#pragma once
// Writing the adapted weights (atomically): a .pth checkpoint as the input was laid out, or
// a safetensors file of net's tensors and the checkpoint's scalar keys as metadata.
#include "pth/adapt.hpp"
#include "select.hpp"

namespace pth::adapt_detail {

// Takes `doc` to move its names into what is written. Sets r.written, may add r.notes.
void write_output(const AdaptOptions& o, Doc doc, AdaptResult& r);

}  // namespace pth::adapt_detail
