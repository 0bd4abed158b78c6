// An ImageFolder tree as a SampleSource: indexed once, each file decoded when its sample is
// asked for (decode errors already name the file).
#include "image/image_folder.hpp"
#include "sg/data/sample_source.hpp"

namespace sg {
namespace {

class FolderSource : public SampleSource {
 public:
  FolderSource(const std::string& root, image::ColorMode mode) : index_(image::index_image_folder(root)) {
    options_.mode = mode;
  }
  int64_t size() const override { return int64_t(index_.samples.size()); }
  int64_t num_classes() const override { return int64_t(index_.classes.size()); }
  int64_t channels() const override { return options_.mode == image::ColorMode::rgb ? 3 : 1; }
  int64_t label(int64_t index) const override { return index_.samples.at(size_t(index)).target; }
  std::string describe(int64_t index) const override { return index_.samples.at(size_t(index)).path; }
  image::Image image(int64_t index) const override {
    return image::decode_file(index_.samples.at(size_t(index)).path, options_);
  }

 private:
  image::ImageFolderIndex index_;
  image::DecodeOptions options_;
};

}  // namespace

std::unique_ptr<SampleSource> image_folder_source(const std::string& root, image::ColorMode mode) {
  return std::make_unique<FolderSource>(root, mode);
}

}  // namespace sg
