#pragma once
// --dtype: the floating weights of net and ema_net converted.
#include "pth/adapt.hpp"
#include "select.hpp"

namespace pth::adapt_detail {

// Converts every floating tensor of net and ema_net, biggest first, on a few threads;
// sets r.converted.
void convert_weights(Doc& doc, DType to, AdaptResult& r);

}  // namespace pth::adapt_detail
