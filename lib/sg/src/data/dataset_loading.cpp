#include "sg/train/train_config.hpp"

namespace sg {
namespace {

// Images [first, first + count) of `all` as a dataset of their own.
ImageDataset slice(const ImageDataset& all, int64_t first, int64_t count) {
  ImageDataset part = all;
  const size_t per_image = size_t(all.channels * all.height * all.width);
  part.size = count;
  part.pixels.assign(all.pixels.begin() + long(size_t(first) * per_image),
                     all.pixels.begin() + long(size_t(first + count) * per_image));
  part.labels.assign(all.labels.begin() + first, all.labels.begin() + first + count);
  return part;
}

ImageDataset load_in_memory(const SplitConfig& c, const SyntheticConfig& s) {
  if (c.dataset == "synthetic") {
    // One stream of images with shared class patterns: training first, validation after.
    const ImageDataset all = make_synthetic(s.train_size + s.val_size, s.channels, s.image_size, s.image_size,
                                            s.num_classes, s.seed);
    return c.train ? slice(all, 0, s.train_size) : slice(all, s.train_size, s.val_size);
  }
  if (c.dataset == "cifar10") return load_cifar(c.root, Cifar::cifar10, c.train);
  if (c.dataset == "cifar100") return load_cifar(c.root, Cifar::cifar100, c.train);
  return load_idx(c.images, c.labels);
}

}  // namespace

std::unique_ptr<SampleSource> load_dataset(const DataConfig& config, bool train) {
  const SplitConfig& c = train ? config.train : config.val;
  if (c.dataset == "image_folder") return image_folder_source(c.root);
  const std::string name = c.dataset + (c.train ? " training set" : " validation set");
  return memory_source(load_in_memory(c, config.synthetic), name);
}

void check_dataset_fits(const SampleSource& data, const ModelOptions& model) {
  if (data.channels() != model.in_channels)
    throw RecipeError("arch_params.in_channels: " + std::to_string(model.in_channels) + " but the dataset's images have " +
                      std::to_string(data.channels()) + " channels");
  if (data.num_classes() > model.num_classes)
    throw RecipeError("arch_params.num_classes: " + std::to_string(model.num_classes) + " but the dataset has " +
                      std::to_string(data.num_classes()) + " classes");
}

}  // namespace sg
