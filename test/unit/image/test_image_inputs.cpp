// lib/image's refusals without Python: files that are not images, ImageFolder layouts
// torchvision refuses (no class, a class without images) or would loop on (a link cycle),
// and a resize to more pixels than an image may hold.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "image/decode.hpp"
#include "image/image_folder.hpp"
#include "image/transforms.hpp"
#include "temp_dir.hpp"

using namespace sg::image;

TEST_CASE("decoding refuses empty, unknown, missing and non-regular files with one line naming them") {
  TempDir dir;
  const std::string empty = dir.write("empty.jpg", "");
  CHECK(error_message<DecodeError>([&] { decode_file(empty); }) == empty + ": empty file");
  const std::string text = dir.write("text.png", "hello");
  CHECK(error_message<DecodeError>([&] { decode_file(text); }) ==
        text + ": not a JPEG or PNG file (unrecognised first bytes)");
  CHECK(error_message<DecodeError>([&] { decode_file(dir.file("missing.png")); }) ==
        dir.file("missing.png") + ": cannot open: No such file or directory");
  CHECK(error_message<DecodeError>([&] { decode_file(dir.path().string()); }) ==
        dir.path().string() + ": is a directory");
  const std::string fifo = dir.file("fifo.jpg");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(error_message<DecodeError>([&] { decode_file(fifo); }) == fifo + ": not a regular file");
  // Just the signatures: truncated at once.
  const std::string jpeg = dir.write("sig.jpg", std::string("\xFF\xD8\xFF", 3));
  CHECK(error_message<DecodeError>([&] { decode_file(jpeg); }) ==
        jpeg + ": corrupt or truncated JPEG header: no frame size");
  const std::string png = dir.write("sig.png", std::string("\x89PNG\r\n\x1A\n", 8));
  CHECK(error_message<DecodeError>([&] { decode_file(png); }) == png + ": corrupt PNG header: file is truncated");
  DecodeOptions small;
  small.max_file_bytes = 2;
  CHECK(error_message<DecodeError>([&] { decode_file(text, small); }) == text + ": larger than 2 bytes");
}

TEST_CASE("the ImageFolder index refuses a root without classes and a class without images") {
  TempDir dir;
  const std::string root = dir.path().string();
  CHECK(error_message<std::runtime_error>([&] { index_image_folder(root); }) ==
        root + ": no class folder (ImageFolder needs one sub-folder per class)");
  dir.write("cat/1.JPG", "x");
  dir.write("dog/readme.txt", "x");
  CHECK(error_message<std::runtime_error>([&] { index_image_folder(root); }) ==
        root + "/dog: class folder holds no image file (extensions: .jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp)");
  dir.write("dog/sub/2.webp", "x");
  const ImageFolderIndex index = index_image_folder(root + "/");
  CHECK(index.classes == std::vector<std::string>{"cat", "dog"});
  REQUIRE(index.samples.size() == 2);
  CHECK(index.samples[0].path == root + "/cat/1.JPG");
  CHECK(index.samples[1].path == root + "/dog/sub/2.webp");
  CHECK(index.samples[1].target == 1);
  const std::string file = dir.write("file.png", "x");
  CHECK(error_message<std::runtime_error>([&] { index_image_folder(file); }) == file + ": dataset root is not a folder");
  CHECK(error_message<std::runtime_error>([&] { index_image_folder(root + "/nope"); }) ==
        root + "/nope: cannot open dataset folder: No such file or directory");
}

TEST_CASE("a symbolic link loop below a class is an error naming it") {
  TempDir dir;
  dir.write("cls/a.png", "x");
  std::filesystem::create_directory_symlink("..", dir.path() / "cls" / "up");
  CHECK(error_message<std::runtime_error>([&] { index_image_folder(dir.path().string()); }) ==
        dir.file("cls/up/cls") + ": symbolic link loop (leads back to a folder above it)");
}

TEST_CASE("a resize to more pixels than decoding allows is refused before anything is allocated") {
  const Image strip(1, 400000, 1);   // within the decoding bound; its shorter side to 224 is not
  Rng rng(1);
  const std::string message = error_message<std::invalid_argument>([&] { Resize(224).apply(strip, rng); });
  CHECK(message == "resize to 224x89600000: more pixels than an image may hold (89478485, PIL's MAX_IMAGE_PIXELS)");
  CHECK(Resize(4).apply(Image(1, 1000, 1), rng).width == 4000);
}
