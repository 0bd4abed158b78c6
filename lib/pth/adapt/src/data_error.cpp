#include "data_error.hpp"

#include "pth/error.hpp"

namespace pth::adapt_detail {

AdaptError data_error(const std::string& file, const std::string& context, const std::exception& e) {
  if (const auto* bad = dynamic_cast<const FileDataError*>(&e)) return AdaptError(bad->file(), bad->what());
  return AdaptError(file, context + e.what());
}

}  // namespace pth::adapt_detail
