// JPEG and PNG decoding (lib/image): any bytes give an image or a DecodeError, nothing else;
// a decoded image then goes through a resize and a crop.
#include "image/decode.hpp"
#include "image/transforms.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sg::image::DecodeOptions options;
  options.max_pixels = 1 << 22;   // bigger images are refused from the header: keeps each run fast
  try {
    const sg::image::Image img = sg::image::decode_memory(data, size, "fuzz", options);
    sg::image::Rng rng(size);
    sg::image::CenterCrop(7, 5).apply(sg::image::Resize(9).apply(img, rng), rng);
  } catch (const sg::image::DecodeError&) {
  }
  return 0;
}
