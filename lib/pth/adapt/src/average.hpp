#pragma once
// --average A B ...: the element-wise mean of the inputs' net (ema_net with --ema).
#include "pth/adapt.hpp"
#include "select.hpp"

namespace pth::adapt_detail {

// One Doc with the first file's keys, order and non-floating entries, the floating
// tensors averaged. Throws AdaptError when the files' weights differ in keys, kinds,
// dtypes or shapes.
Doc average_docs(const AdaptOptions& o);

}  // namespace pth::adapt_detail
