#pragma once
// The index of an ImageFolder-style dataset, as torchvision's datasets.ImageFolder builds
// it: one sub-folder of `root` per class, classes sorted by name (class_to_idx is their
// position), and every file below a class folder (at any depth) whose name ends, ignoring
// case, with one of torchvision's IMG_EXTENSIONS, in the order torchvision lists them
// (folders by their full path, names sorted within each folder; byte order).
//
// Symbolic links are followed as torchvision follows them (os.scandir's is_dir for class
// folders, os.walk(followlinks=True) below them), so a class may be a link to a folder
// elsewhere; a link that leads back into a folder already being walked (a loop) is an
// error naming it, where torchvision would recurse until the path is too long. A name with
// an image extension that is not a readable image (a broken link, a FIFO, a text file) is
// listed, as torchvision lists it, and refused when decoded.
//
// Errors (std::runtime_error, one line naming the folder): root missing or not a folder,
// no class folder, a class folder without images, an unreadable folder.
#include <cstddef>
#include <string>
#include <vector>

namespace sg::image {

struct ImageFolderIndex {
  std::vector<std::string> classes;   // sorted; class_to_idx[classes[i]] == i
  struct Sample {
    std::string path;
    int target;
  };
  std::vector<Sample> samples;
};

ImageFolderIndex index_image_folder(const std::string& root);

// torchvision's IMG_EXTENSIONS, lower case.
const std::vector<std::string>& image_extensions();
bool has_image_extension(const std::string& file_name);

}  // namespace sg::image
