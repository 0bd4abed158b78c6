#include "template_folder.hpp"

#include <stdlib.h>

#include <filesystem>
#include <system_error>

namespace pth::adapt_detail {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "sg-ckpt-adapt.XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw AdaptError("", "cannot make a temporary folder for --model");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string make_model_template(const AdaptOptions& o, const TempDir& dir) {
  if (!o.make_model_template) throw AdaptError("", "--model needs sg-model-template (not built)");
  const std::string out = dir.path() + "/" + "template.pth";
  o.make_model_template(o.model, o.num_classes, out);
  return out;
}

}  // namespace pth::adapt_detail
