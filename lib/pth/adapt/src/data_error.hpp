#pragma once
#include <exception>
#include <string>

#include "pth/adapt.hpp"

namespace pth::adapt_detail {

// An error met while using the inputs' data: the input whose data failed and its record
// (a CRC mismatch, a file changed while read), else `file` and `context`.
AdaptError data_error(const std::string& file, const std::string& context, const std::exception& e);

}  // namespace pth::adapt_detail
