#pragma once
// JPEG (TurboJPEG) and PNG (libpng) files decoded into an 8-bit Image, as torchvision's
// default loader sees them: PIL's Image.open(path).convert("RGB") (or "L").
//
// What PIL does, and so what we do: grayscale is repeated into R, G and B; an alpha channel
// is dropped (not composited); a palette is looked up (its transparency dropped); 16-bit RGB
// and gray+alpha keep the high byte; 16-bit gray is clipped to 255 (PIL's mode "I" to "RGB");
// 1/2/4-bit gray is scaled to 0..255. Gray output is PIL's convert("L") of the RGB image:
// (19595 R + 38470 G + 7471 B + 32768) >> 16. EXIF orientation is not applied (PIL's open and
// torchvision do not apply it either). CMYK/YCCK JPEGs are refused.
//
// Hostile input: an image of more than `max_pixels` pixels (default PIL's MAX_IMAGE_PIXELS,
// 89,478,485, where PIL starts warning of a decompression bomb) is refused from its header,
// before any pixel memory is taken; truncated or corrupt data, an empty file and anything
// that is neither JPEG nor PNG (by its first bytes, not its name) are refused. Every refusal
// is a DecodeError whose what() is one line "<file>: <problem>". Where PIL differs: a PNG cut
// short after its image data decodes, as in PIL, but one cut inside its last IDAT chunk is
// refused even when only the zlib checksum is lost (PIL stops reading at the last row).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "image/image.hpp"

namespace sg::image {

class DecodeError : public std::runtime_error {
 public:
  explicit DecodeError(const std::string& what) : std::runtime_error(what) {}
};

inline constexpr std::uint64_t kPilMaxImagePixels = 89478485;   // int(1024 * 1024 * 1024 // 4 // 3)

enum class ColorMode { rgb, gray };

struct DecodeOptions {
  ColorMode mode = ColorMode::rgb;
  std::uint64_t max_pixels = kPilMaxImagePixels;
  std::uint64_t max_file_bytes = 1ull << 30;   // files past this are refused unread
};

// Decodes the file at `path` (a regular file; a FIFO or device is refused at once).
Image decode_file(const std::string& path, const DecodeOptions& options = {});
// Decodes bytes in memory; `name` is what error messages call them.
Image decode_memory(const std::uint8_t* data, std::size_t size, const std::string& name,
                    const DecodeOptions& options = {});

}  // namespace sg::image
