// sg-model-template ARCH NUM_CLASSES OUT.pth [--in-channels C]: writes a freshly built
// model's state dict (torch.save layout, PyTorch's key order), the template that
// `sg-ckpt-adapt --model ARCH` matches checkpoints against.
#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/version.hpp"
#include "pth/checkpoint.hpp"
#include "pth/termination.hpp"
#include "sg/models/model_template.hpp"
#include "sg/runtime/libtorch_info.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write the state dict of a freshly built model (a key/shape template for sg-ckpt-adapt --model).",
               "sg-model-template"};
  common::add_version_flag(app, sg::libtorch_description);
  std::string arch, out;
  sg::ModelOptions options;
  uint64_t seed = 0;
  app.add_option("ARCH", arch, "Architecture")->required();
  app.add_option("NUM_CLASSES", options.num_classes, "Classes of the head")->required()->check(CLI::PositiveNumber);
  app.add_option("OUT", out, "Output .pth file")->required();
  app.add_option("--in-channels", options.in_channels, "Input channels")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Seed of the initial weights")->capture_default_str();
  app.footer("Exit status: 0 written, 1 the file could not be written, 2 bad usage or unknown architecture.");
  if (auto done = common::parse_command_line(app, argc, argv)) return *done;
  pth::end_cleanly_on_termination_signals();
  pth::Value state_dict;
  try {
    state_dict = sg::model_template(arch, options, seed);
  } catch (const std::exception& e) {
    common::print_error("sg-model-template", e.what());
    return common::kExitInputError;
  }
  try {
    pth::write_checkpoint(out, state_dict);
  } catch (const std::exception& e) {
    common::print_error("sg-model-template", "cannot write " + out + ": " + e.what());
    return common::kExitFailed;
  }
  return common::kExitOk;
}
