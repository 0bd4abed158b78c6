// A dataset held in memory as a SampleSource: each image copied out of the CHW pixel block
// into the HWC layout the transforms work on.
#include <stdexcept>
#include <string>

#include "sg/data/sample_source.hpp"

namespace sg {
namespace {

class MemorySource : public SampleSource {
 public:
  MemorySource(ImageDataset data, std::string name) : data_(std::move(data)), name_(std::move(name)) {
    const auto pixels = static_cast<uint64_t>(data_.size) * data_.channels * data_.height * data_.width;
    if (data_.size < 0 || data_.channels <= 0 || data_.height <= 0 || data_.width <= 0 ||
        data_.pixels.size() != pixels || data_.labels.size() != static_cast<uint64_t>(data_.size))
      throw std::invalid_argument(name_ + ": the dataset's pixels and labels do not match its shape");
    if (data_.channels != 1 && data_.channels != 3)
      throw std::invalid_argument(name_ + ": images of " + std::to_string(data_.channels) +
                                  " channels (the transforms take 1 or 3)");
  }
  int64_t size() const override { return data_.size; }
  int64_t num_classes() const override { return data_.num_classes; }
  int64_t channels() const override { return data_.channels; }
  int64_t label(int64_t index) const override { return data_.labels.at(static_cast<size_t>(index)); }
  std::string describe(int64_t index) const override { return name_ + " sample " + std::to_string(index); }

  image::Image image(int64_t index) const override {
    const int C = int(data_.channels), H = int(data_.height), W = int(data_.width);
    const size_t plane = size_t(H) * W;
    const uint8_t* src = data_.pixels.data() + size_t(index) * C * plane;
    image::Image out(H, W, C);
    for (size_t p = 0; p < plane; ++p)
      for (int c = 0; c < C; ++c) out.pixels[p * C + c] = src[c * plane + p];
    return out;
  }

 private:
  ImageDataset data_;
  std::string name_;
};

}  // namespace

std::unique_ptr<SampleSource> memory_source(ImageDataset data, std::string name) {
  return std::make_unique<MemorySource>(std::move(data), std::move(name));
}

}  // namespace sg
