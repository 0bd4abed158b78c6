#include "common/version.hpp"

const char* sg_git_revision();   // generated at build time (scripts/git_revision.cmake)

namespace common {

void add_version_flag(CLI::App& app, std::function<std::string()> runtime) {
  const std::string program = app.get_name();
  app.set_version_flag(
      "--version",
      [program, runtime] { return program + " " SG_TOOLKIT_VERSION " (git " + sg_git_revision() + ")\n" + runtime(); },
      "Print the version, the git revision and the LibTorch in use, and exit");
}

std::string without_libtorch() { return "no LibTorch (checkpoints are read and written by the toolkit's lib/pth)"; }

}  // namespace common
