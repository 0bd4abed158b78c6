#pragma once
// --model: the template that AdaptOptions::make_model_template writes, in a temporary
// folder removed with it.
#include <string>

#include "pth/adapt.hpp"

namespace pth::adapt_detail {

class TempDir {
 public:
  TempDir();   // throws AdaptError when it cannot be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The path of the template made in `dir`. Throws AdaptError when o.make_model_template is
// empty, and whatever it throws.
std::string make_model_template(const AdaptOptions& o, const TempDir& dir);

}  // namespace pth::adapt_detail
