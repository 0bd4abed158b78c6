// sg-model-template ARCH NUM_CLASSES OUT.pth [--in-channels C]: writes a freshly built
// model's state dict (torch.save layout, PyTorch's key order), the template that
// `sg-ckpt-adapt --model ARCH` matches checkpoints against.
#include <iostream>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/termination.hpp"
#include "sg/model.hpp"
#include "sg/tensor_convert.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Write the state dict of a freshly built model (a key/shape template for sg-ckpt-adapt --model).",
               "sg-model-template"};
  std::string arch, out;
  sg::ModelOptions options;
  uint64_t seed = 0;
  app.add_option("ARCH", arch, "Architecture")->required();
  app.add_option("NUM_CLASSES", options.num_classes, "Classes of the head")->required()->check(CLI::PositiveNumber);
  app.add_option("OUT", out, "Output .pth file")->required();
  app.add_option("--in-channels", options.in_channels, "Input channels")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Seed of the initial weights")->capture_default_str();
  app.footer("Exit status: 0 written, 1 the file could not be written, 2 bad usage or unknown architecture.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  pth::end_cleanly_on_termination_signals();
  std::shared_ptr<sg::Classifier> model;
  try {
    torch::manual_seed(seed);
    model = sg::create_model(arch, options);
  } catch (const std::exception& e) {
    std::cerr << "sg-model-template: error: " << e.what() << "\n";
    return 2;
  }
  try {
    pth::write_checkpoint(out, sg::to_pth_state_dict(sg::state_dict(*model)));
  } catch (const std::exception& e) {
    std::cerr << "sg-model-template: error: cannot write " << out << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}
