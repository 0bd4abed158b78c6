#include "image/decode.hpp"

#include <cstring>

#include "decoders.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"

namespace sg::image {
namespace detail {

void fail(const std::string& name, const std::string& problem) { throw DecodeError(name + ": " + problem); }

void check_dimensions(std::uint64_t width, std::uint64_t height, const std::string& name,
                      const DecodeOptions& options) {
  if (width == 0 || height == 0) fail(name, "image has no pixels (" + std::to_string(width) + "x" + std::to_string(height) + ")");
  if (width * height > options.max_pixels)
    fail(name, "image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels exceeds the limit of " +
                   std::to_string(options.max_pixels) + " pixels (possible decompression bomb)");
}

}  // namespace detail

namespace {

const std::uint8_t kJpegMagic[] = {0xFF, 0xD8, 0xFF};
const std::uint8_t kPngMagic[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

bool starts_with(const std::uint8_t* data, std::size_t size, const std::uint8_t* magic, std::size_t n) {
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// PIL's convert("L") from RGB, or convert("RGB") from L.
Image convert(const Image& in, ColorMode mode) {
  const int want = mode == ColorMode::rgb ? 3 : 1;
  if (in.channels == want) return in;
  Image out(in.height, in.width, want);
  const std::size_t n = static_cast<std::size_t>(in.height) * in.width;
  const std::uint8_t* s = in.pixels.data();
  std::uint8_t* d = out.pixels.data();
  if (want == 3) {
    for (std::size_t i = 0; i < n; ++i) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = s[i];
  } else {
    for (std::size_t i = 0; i < n; ++i)
      d[i] = static_cast<std::uint8_t>((s[3 * i] * 19595u + s[3 * i + 1] * 38470u + s[3 * i + 2] * 7471u + 0x8000u) >> 16);
  }
  return out;
}

}  // namespace

Image decode_memory(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  if (size == 0) detail::fail(name, "empty file");
  Image decoded;
  if (starts_with(data, size, kJpegMagic, sizeof kJpegMagic))
    decoded = detail::decode_jpeg(data, size, name, options);
  else if (starts_with(data, size, kPngMagic, sizeof kPngMagic))
    decoded = detail::decode_png(data, size, name, options);
  else
    detail::fail(name, "not a JPEG or PNG file (unrecognised first bytes)");
  return convert(decoded, options.mode);
}

Image decode_file(const std::string& path, const DecodeOptions& options) {
  std::string bytes;
  try {
    bytes = pth::read_input_file(path, options.max_file_bytes);
  } catch (const pth::Error& e) {
    detail::fail(path, e.what());
  }
  return decode_memory(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), path, options);
}

}  // namespace sg::image
