// JPEG and PNG decoding (lib/image): any bytes give an image or a DecodeError, nothing else;
// a decoded image then goes through a resize and a crop.
#include <cstdint>

#include "image/decode.hpp"
#include "image/transforms.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::image::DecodeOptions options;
  // Bigger images are refused from the header. Decoding and resizing cost a few hundred
  // nanoseconds a pixel under ASan: at 4 Mpixel a valid 300-byte JPEG took 0.8 s.
  options.max_pixels = 1 << 20;
  try {
    const sg::image::Image img = sg::image::decode_memory(data, size, "fuzz", options);
    sg::image::Rng rng(size);
    // The shorter side to 9 makes a 6x63734 strip 9x95601: the resize, not the decoding,
    // took over a second under ASan. Outputs are bounded here as the input is above.
    const sg::image::Resize resize(9);
    const auto [h, w] = resize.output_size(img.height, img.width);
    const bool small = uint64_t(h) * uint64_t(w) <= options.max_pixels / 4;
    sg::image::CenterCrop(7, 5).apply(small ? resize.apply(img, rng) : img, rng);
  } catch (const sg::image::DecodeError&) {
  }
  return 0;
}
