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

}  // namespace

ImageDataset load_dataset(const DataConfig& c, bool train) {
  if (c.dataset == "synthetic") {
    // One stream of images with shared class patterns: training first, validation after.
    const ImageDataset all =
        make_synthetic(c.synthetic_train_size + c.synthetic_val_size, c.synthetic_channels, c.synthetic_image_size,
                       c.synthetic_image_size, c.synthetic_num_classes, c.synthetic_seed);
    return train ? slice(all, 0, c.synthetic_train_size) : slice(all, c.synthetic_train_size, c.synthetic_val_size);
  }
  if (c.dataset == "cifar10") return load_cifar10(c.root, train);
  return train ? load_idx(c.train_images, c.train_labels) : load_idx(c.val_images, c.val_labels);
}

}  // namespace sg
