#include "template_folder.hpp"

namespace pth::adapt_detail {

std::string make_model_template(const AdaptOptions& o, const TemporaryFolder& dir) {
  if (!o.make_model_template) throw AdaptError("", "--model needs sg-model-template (not built)");
  const std::string out = dir.file("template.pth");
  o.make_model_template(o.model, o.num_classes, out);
  return out;
}

}  // namespace pth::adapt_detail
