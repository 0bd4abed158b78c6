#include "image/image_folder.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>
#include <utility>

namespace sg::image {

namespace {

[[noreturn]] void fail(const std::string& folder, const std::string& problem) {
  throw std::runtime_error(folder + ": " + problem);
}

struct Entry {
  std::string name;
  bool is_dir;   // after following links, as os.scandir's is_dir()
};

std::vector<Entry> list_folder(const std::string& folder) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir(folder.c_str()), closedir);
  if (!dir) fail(folder, std::string("cannot read folder: ") + std::strerror(errno));
  std::vector<Entry> entries;
  while (dirent* e = readdir(dir.get())) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    const bool is_dir = stat((folder + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    entries.push_back({name, is_dir});
  }
  return entries;
}

using DirId = std::pair<dev_t, ino_t>;

DirId dir_id(const std::string& folder) {
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) fail(folder, std::string("cannot read folder: ") + std::strerror(errno));
  return {st.st_dev, st.st_ino};
}

// os.walk(folder, followlinks=True): every folder below, with its image file names.
void walk(const std::string& folder, std::vector<DirId>& ancestors,
          std::vector<std::pair<std::string, std::vector<std::string>>>& out) {
  const DirId id = dir_id(folder);
  if (std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end())
    fail(folder, "symbolic link loop (leads back to a folder above it)");
  ancestors.push_back(id);
  std::vector<std::string> files;
  std::vector<std::string> subfolders;
  for (const Entry& e : list_folder(folder)) {
    if (e.is_dir)
      subfolders.push_back(folder + "/" + e.name);
    else if (has_image_extension(e.name))
      files.push_back(e.name);
  }
  std::sort(files.begin(), files.end());
  out.emplace_back(folder, std::move(files));
  for (const std::string& sub : subfolders) walk(sub, ancestors, out);
  ancestors.pop_back();
}

}  // namespace

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> extensions = {".jpg", ".jpeg", ".png", ".ppm", ".bmp",
                                                      ".pgm", ".tif", ".tiff", ".webp"};
  return extensions;
}

bool has_image_extension(const std::string& file_name) {
  std::string lower = file_name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const std::string& ext : image_extensions())
    if (lower.size() >= ext.size() && lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0) return true;
  return false;
}

ImageFolderIndex index_image_folder(const std::string& root_path) {
  std::string root = root_path;   // "data/" lists as "data/cls/x.jpg", as os.path.join does
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  struct stat st;
  if (stat(root.c_str(), &st) != 0) fail(root, std::string("cannot open dataset folder: ") + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail(root, "dataset root is not a folder");

  ImageFolderIndex index;
  for (const Entry& e : list_folder(root))
    if (e.is_dir) index.classes.push_back(e.name);
  if (index.classes.empty()) fail(root, "no class folder (ImageFolder needs one sub-folder per class)");
  std::sort(index.classes.begin(), index.classes.end());

  for (std::size_t c = 0; c < index.classes.size(); ++c) {
    const std::string class_dir = root + "/" + index.classes[c];
    std::vector<std::pair<std::string, std::vector<std::string>>> folders;
    std::vector<DirId> ancestors;
    walk(class_dir, ancestors, folders);
    std::sort(folders.begin(), folders.end());
    const std::size_t before = index.samples.size();
    for (const auto& [folder, files] : folders)
      for (const std::string& f : files) index.samples.push_back({folder + "/" + f, static_cast<int>(c)});
    if (index.samples.size() == before)
      fail(class_dir, "class folder holds no image file (extensions: .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp)");
  }
  return index;
}

}  // namespace sg::image
