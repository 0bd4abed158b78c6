#pragma once
// --like / --model: the input's weights renamed (and ordered) as the template's.
#include "pth/adapt.hpp"
#include "select.hpp"

namespace pth::adapt_detail {

// Matches net, and ema_net when kept, to `tmpl` under o.strict; fills r.match,
// r.ema_match and, when a match fails, r.failure and returns false.
bool match_template(Doc& doc, const Weights& tmpl, const AdaptOptions& o, AdaptResult& r);

}  // namespace pth::adapt_detail
