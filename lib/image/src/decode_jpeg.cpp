// JPEG through TurboJPEG with libjpeg's defaults, as PIL decodes (same library: Debian's
// libjpeg-turbo): accurate integer IDCT, fancy upsampling.
#include <turbojpeg.h>

#include <cstring>
#include <memory>

#include "decoders.hpp"

namespace sg::image::detail {

namespace {

struct TjHandle {
  tjhandle h = tjInitDecompress();
  ~TjHandle() {
    if (h) tjDestroy(h);
  }
};

}  // namespace

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  TjHandle tj;
  if (!tj.h) fail(name, "cannot start the JPEG decoder");
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(tj.h, data, static_cast<unsigned long>(size), &width, &height, &subsampling, &colorspace) != 0)
    fail(name, std::string("corrupt JPEG header: ") + tjGetErrorStr2(tj.h));
  if (width <= 0 || height <= 0) fail(name, "corrupt or truncated JPEG header: no frame size");   // data ran out
  check_dimensions(static_cast<std::uint64_t>(width), static_cast<std::uint64_t>(height), name, options);
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) fail(name, "CMYK/YCCK JPEG is not supported");

  const bool gray = colorspace == TJCS_GRAY;
  Image out(height, width, gray ? 1 : 3);
  // TJFLAG_LIMITSCANS: a progressive file of thousands of tiny scans (a CPU bomb) is refused.
  const int flags = TJFLAG_LIMITSCANS;
  if (tjDecompress2(tj.h, data, static_cast<unsigned long>(size), out.pixels.data(), width, 0, height,
                    gray ? TJPF_GRAY : TJPF_RGB, flags) != 0) {
    const std::string message = tjGetErrorStr2(tj.h);
    // libjpeg's warnings (e.g. "Corrupt JPEG data: N extraneous bytes") still give the
    // whole image, and PIL accepts them; running out of data is PIL's "image file is truncated".
    if (tjGetErrorCode(tj.h) != TJERR_WARNING || message.find("Premature end") != std::string::npos)
      fail(name, "corrupt or truncated JPEG data: " + message);
  }
  return out;
}

}  // namespace sg::image::detail
