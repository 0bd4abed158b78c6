// sg_image_tool: lib/image's decoding, index and transforms, for test/python/test_image.py.
//
//   sg_image_tool decode IN OUT.npy [gray]      decode IN (JPEG/PNG) -> uint8 HWC .npy
//   sg_image_tool apply IN OUT.npy OP ARGS...   decode IN (RGB), apply OP, write the result:
//       resize H W INTERP | resize-short S INTERP [MAX] | center-crop H W | crop T L H W |
//       resized-crop T L H W OUT_H OUT_W INTERP | pad L T R B MODE FILL | hflip |
//       brightness F | contrast F | saturation F | hue F |
//       augment NAME MAGNITUDE NEGATE FILL...  (one RandAugment op; a fill value per channel)
//                                                            -> uint8 HWC .npy
//       normalize M0 M1 M2 S0 S1 S2                          -> float32 CHW .npy
//   sg_image_tool apply-gray IN OUT.npy OP ARGS...   the same on IN decoded to gray
//   sg_image_tool index ROOT                    prints "class NAME" lines, then "sample TARGET PATH"
//   sg_image_tool version                       prints the TurboJPEG version built against
//
// Exit codes: 0 done; 2 usage error or refused input (one line on stderr).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "cli_numbers.hpp"
#include "image/color.hpp"
#include "image/decode.hpp"
#include "image/geometry.hpp"
#include "image/image_folder.hpp"
#include "image/rand_augment.hpp"
#include "image/resize.hpp"
#include "image/tensor.hpp"
#include "image/transforms.hpp"

namespace {

using namespace sg::image;

void write_npy(const std::string& path, const char* dtype, const std::vector<int>& shape, const void* data,
               std::size_t bytes) {
  std::string dims;
  for (int d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '" + std::string(dtype) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xFF)).put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

void write_image(const std::string& path, const Image& img) {
  write_npy(path, "|u1", {img.height, img.width, img.channels}, img.pixels.data(), img.pixels.size());
}

int arg_int(const std::vector<std::string>& a, std::size_t i) {
  if (i >= a.size()) throw UsageError("missing argument " + std::to_string(i));
  return static_cast<int>(parse_count(a[i], "integer", -1000000));
}
double arg_double(const std::vector<std::string>& a, std::size_t i) {
  if (i >= a.size()) throw UsageError("missing argument " + std::to_string(i));
  return parse_double(a[i], "number");
}
const std::string& arg(const std::vector<std::string>& a, std::size_t i) {
  if (i >= a.size()) throw UsageError("missing argument " + std::to_string(i));
  return a[i];
}

int apply(const std::vector<std::string>& a, ColorMode mode) {
  DecodeOptions options;
  options.mode = mode;
  const Image in = decode_file(arg(a, 0), options);
  const std::string& out = arg(a, 1);
  const std::string& op = arg(a, 2);
  Rng rng(0);
  Image result;
  if (op == "resize") {
    result = resize(in, arg_int(a, 3), arg_int(a, 4), parse_interpolation(arg(a, 5)));
  } else if (op == "resize-short") {
    std::optional<int> max_size;
    if (a.size() > 5) max_size = arg_int(a, 5);
    result = Resize(arg_int(a, 3), parse_interpolation(arg(a, 4)), max_size).apply(in, rng);
  } else if (op == "center-crop") {
    result = CenterCrop(arg_int(a, 3), arg_int(a, 4)).apply(in, rng);
  } else if (op == "crop") {
    result = crop(in, arg_int(a, 3), arg_int(a, 4), arg_int(a, 5), arg_int(a, 6));
  } else if (op == "resized-crop") {
    result = resize(crop(in, arg_int(a, 3), arg_int(a, 4), arg_int(a, 5), arg_int(a, 6)), arg_int(a, 7), arg_int(a, 8),
                    parse_interpolation(arg(a, 9)));
  } else if (op == "pad") {
    const auto fill = static_cast<std::uint8_t>(arg_int(a, 8));
    result = pad(in, arg_int(a, 3), arg_int(a, 4), arg_int(a, 5), arg_int(a, 6), parse_pad_mode(arg(a, 7)),
                 {fill, fill, fill});
  } else if (op == "hflip") {
    result = hflip(in);
  } else if (op == "brightness") {
    result = adjust_brightness(in, arg_double(a, 3));
  } else if (op == "contrast") {
    result = adjust_contrast(in, arg_double(a, 3));
  } else if (op == "saturation") {
    result = adjust_saturation(in, arg_double(a, 3));
  } else if (op == "hue") {
    result = adjust_hue(in, arg_double(a, 3));
  } else if (op == "augment") {
    std::vector<std::uint8_t> fill;
    for (int i = 0; i < in.channels; ++i) fill.push_back(static_cast<std::uint8_t>(arg_int(a, 6 + i)));
    result = apply_augment_op(parse_augment_op(arg(a, 3)), in, arg_double(a, 4), arg_int(a, 5) != 0, fill);
  } else if (op == "normalize") {
    std::vector<float> mean, std;
    for (int i = 0; i < in.channels; ++i) mean.push_back(static_cast<float>(arg_double(a, 3 + i)));
    for (int i = 0; i < in.channels; ++i) std.push_back(static_cast<float>(arg_double(a, 3 + in.channels + i)));
    std::vector<float> chw(in.pixels.size());
    to_tensor_normalize(in, mean, std, chw.data());
    write_npy(out, "<f4", {in.channels, in.height, in.width}, chw.data(), chw.size() * sizeof(float));
    return 0;
  } else {
    throw UsageError("unknown operation '" + op + "'");
  }
  write_image(out, result);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && std::string(argv[1]) == "version") {
      std::printf("%s\n", SG_IMAGE_TURBOJPEG_VERSION);
      return 0;
    }
    if (argc < 3) throw UsageError("usage: sg_image_tool decode|apply|index ...");
    const std::string command = argv[1];
    const std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "decode") {
      DecodeOptions options;
      if (args.size() > 2 && args[2] == "gray") options.mode = ColorMode::gray;
      write_image(arg(args, 1), decode_file(arg(args, 0), options));
      return 0;
    }
    if (command == "apply") return apply(args, ColorMode::rgb);
    if (command == "apply-gray") return apply(args, ColorMode::gray);
    if (command == "index") {
      const ImageFolderIndex index = index_image_folder(args[0]);
      for (const auto& c : index.classes) std::printf("class %s\n", c.c_str());
      for (const auto& s : index.samples) std::printf("sample %d %s\n", s.target, s.path.c_str());
      return 0;
    }
    throw UsageError("unknown command '" + command + "'");
  } catch (const std::exception& e) {
    return print_error("sg_image_tool", e);
  }
}
