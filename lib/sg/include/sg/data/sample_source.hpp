#pragma once
// Where a loader's samples come from: for each index a class and an untransformed 8-bit
// image, read from memory or decoded from its file when asked. Every method may be called
// from several loader threads at once. No LibTorch here.
#include <cstdint>
#include <memory>
#include <string>

#include "image/decode.hpp"
#include "image/image.hpp"
#include "sg/data/datasets.hpp"

namespace sg {

class SampleSource {
 public:
  virtual ~SampleSource() = default;
  virtual int64_t size() const = 0;
  virtual int64_t num_classes() const = 0;
  virtual int64_t channels() const = 0;
  virtual int64_t label(int64_t index) const = 0;
  // Throws std::runtime_error naming the sample (its file) and the problem.
  virtual image::Image image(int64_t index) const = 0;
  // What messages call sample `index`: its file, or "<name> sample <index>".
  virtual std::string describe(int64_t index) const = 0;
};

// A dataset in memory; `name` is what messages call it ("CIFAR-10 training set").
std::unique_ptr<SampleSource> memory_source(ImageDataset data, std::string name);
// An ImageFolder tree (image/image_folder.hpp: torchvision's layout and order), decoded as
// PIL's convert("RGB") or ("L") does per sample.
std::unique_ptr<SampleSource> image_folder_source(const std::string& root, image::ColorMode mode = image::ColorMode::rgb);

}  // namespace sg
