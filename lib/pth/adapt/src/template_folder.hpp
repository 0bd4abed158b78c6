#pragma once
// --model: the template that AdaptOptions::make_model_template writes, in a temporary
// folder removed with it.
#include <string>

#include "pth/adapt.hpp"
#include "pth/temporary_folder.hpp"

namespace pth::adapt_detail {

// The path of the template made in `dir`. Throws AdaptError when o.make_model_template is
// empty, and whatever it throws.
std::string make_model_template(const AdaptOptions& o, const TemporaryFolder& dir);

}  // namespace pth::adapt_detail
