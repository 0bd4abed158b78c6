// sg_loader_dump: the batches sg-train's DataLoader gives for a recipe, for the whole-loader
// comparisons of test/python (test_sg_image_folder.py, test_sg_cifar.py).
//
//   sg_loader_dump train|val EPOCH BATCHES OUT.pth CONFIG_DIR CONFIG_NAME [OVERRIDE...]
//
// composes the recipe as sg-train does (CONFIG_DIR, then the built-in recipes), reads its
// dataset and loader of the split, and writes the first BATCHES batches of epoch EPOCH:
// OUT.pth = {"images": [float32 (N, C, H, W), ...], "labels": [int64 (N), ...],
// "num_classes": int}. Exit codes: 0 written; 2 usage or input error (one line).
#include <exception>
#include <string>
#include <vector>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "recipe/recipe.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/train/train_config.hpp"

namespace {

int run(const std::vector<std::string>& args) {
  if (args.size() < 6 || (args[0] != "train" && args[0] != "val"))
    throw UsageError("usage: sg_loader_dump train|val EPOCH BATCHES OUT.pth CONFIG_DIR CONFIG_NAME [OVERRIDE...]");
  const bool train = args[0] == "train";
  const int64_t epoch = parse_count(args[1], "EPOCH");
  const int64_t batches = parse_count(args[2], "BATCHES", 1);
  const sg::Recipe recipe = sg::compose_recipe(
      {args[5], {args[4], sg::builtin_recipes_dir()}, std::vector<std::string>(args.begin() + 6, args.end())});
  const sg::TrainingConfig config = sg::read_training_config(recipe);
  const sg::SplitConfig& split = train ? config.data.train : config.data.val;
  const auto source = sg::load_dataset(config.data, train);
  sg::DataLoader loader(*source, split.transforms, split.loader);
  loader.start_epoch(epoch);
  pth::List images, labels;
  sg::Batch batch;
  while (int64_t(images.size()) < batches && loader.next(batch)) {
    images.push_back(sg::to_pth(batch.images));
    labels.push_back(sg::to_pth(batch.labels));
  }
  pth::Value out = pth::Value::dict();
  auto& dict = out.as_dict();
  dict.set(pth::Value::string("images"), pth::Value::list(std::move(images)));
  dict.set(pth::Value::string("labels"), pth::Value::list(std::move(labels)));
  dict.set(pth::Value::string("num_classes"), pth::Value::integer(source->num_classes()));
  pth::write_checkpoint(args[3], out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    return print_error("sg_loader_dump", e);
  }
}
