#include "sg/checkpoint/packages.hpp"

#include <torch/version.h>

namespace sg {

const char* toolkit_version() { return SG_TOOLKIT_VERSION; }

pth::Value packages_entry(const std::string& program) {
  pth::Value packages = pth::Value::dict();
  packages.as_dict().set(program, pth::Value::string(toolkit_version()));
  packages.as_dict().set("libtorch", pth::Value::string(TORCH_VERSION));
  return packages;
}

}  // namespace sg
