// PNG through libpng's classic interface, converted as PIL's PNG plugin + convert("RGB")
// convert them (see decode.hpp). libpng reports errors by longjmp: each step that may fail
// runs in a function of its own whose locals are plain C data, so no C++ destructor is
// skipped; the C++ objects live in the caller.
#include <png.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <vector>

#include "decoders.hpp"

namespace sg::image::detail {

namespace {

constexpr png_alloc_size_t kMaxChunkBytes = 8u << 20;   // text, ICC and other ancillary chunks

const std::uint8_t kIend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

// PIL decodes a PNG cut short after its image data (it stops reading once every row is
// decoded). libpng reads on to the chunk after the last IDAT: so a file that ends inside or
// before a chunk, after at least one complete IDAT, is read as its complete chunks followed
// by an IEND. Whether the image data is complete is then libpng's to find, as PIL's.
std::size_t complete_chunks(const std::uint8_t* data, std::size_t size, bool* add_iend) {
  std::size_t pos = 8;
  bool idat = false;
  *add_iend = false;
  while (pos + 12 <= size) {
    const std::uint64_t length = std::uint64_t(data[pos]) << 24 | data[pos + 1] << 16 | data[pos + 2] << 8 | data[pos + 3];
    if (std::memcmp(data + pos + 4, "IEND", 4) == 0) return size;
    if (pos + 12 + length > size) break;
    idat = idat || std::memcmp(data + pos + 4, "IDAT", 4) == 0;
    pos += 12 + length;
  }
  *add_iend = idat && pos < size + 1;
  return *add_iend ? pos : size;
}

struct PngState {
  const std::uint8_t* data;
  std::size_t size;   // of the real bytes served, then kIend when add_iend
  bool add_iend = false;
  std::size_t pos = 0;
  char error[200] = "";
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
};

void on_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  snprintf(s->error, sizeof s->error, "%s", message);
  longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, png_size_t n) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  const std::size_t total = s->size + (s->add_iend ? sizeof kIend : 0);
  if (n > total - s->pos) png_error(png, "file is truncated");
  for (; n > 0; --n, ++s->pos) *out++ = s->pos < s->size ? s->data[s->pos] : kIend[s->pos - s->size];
}

bool read_header(PngState* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_read_fn(s->png, s, on_read);
  png_set_chunk_malloc_max(s->png, kMaxChunkBytes);
  png_read_info(s->png, s->info);
  png_get_IHDR(s->png, s->info, &s->width, &s->height, &s->bit_depth, &s->color_type, nullptr, nullptr, nullptr);
  return true;
}

// What PIL keeps of each pixel: RGB or gray, 8 bits, except 16-bit gray (PIL's mode "I").
bool set_transforms(PngState* s, bool* gray16) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  const bool gray = (s->color_type & PNG_COLOR_MASK_COLOR) == 0;
  *gray16 = s->color_type == PNG_COLOR_TYPE_GRAY && s->bit_depth == 16;
  if (s->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
  if (gray && s->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
  if (s->bit_depth == 16 && !*gray16) png_set_strip_16(s->png);
  png_set_strip_alpha(s->png);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  return true;
}

bool read_rows(PngState* s, png_bytepp rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_read_image(s->png, rows);
  return true;
}

struct PngGuard {
  PngState* s;
  ~PngGuard() { png_destroy_read_struct(&s->png, s->info ? &s->info : nullptr, nullptr); }
};

}  // namespace

Image decode_png(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options) {
  PngState s{data, size};
  s.size = complete_chunks(data, size, &s.add_iend);
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
  if (!s.png) fail(name, "cannot start the PNG decoder");
  PngGuard guard{&s};
  s.info = png_create_info_struct(s.png);
  if (!s.info) fail(name, "cannot start the PNG decoder");

  if (!read_header(&s)) fail(name, std::string("corrupt PNG header: ") + s.error);
  check_dimensions(s.width, s.height, name, options);
  bool gray16 = false;
  if (!set_transforms(&s, &gray16)) fail(name, std::string("unsupported PNG: ") + s.error);
  const int channels = png_get_channels(s.png, s.info);
  const std::size_t row_bytes = png_get_rowbytes(s.png, s.info);
  if ((channels != 1 && channels != 3) || row_bytes != std::size_t(s.width) * channels * (gray16 ? 2 : 1))
    fail(name, "unsupported PNG pixel layout");

  std::vector<std::uint8_t> buffer(row_bytes * s.height);
  std::vector<png_bytep> rows(s.height);
  for (png_uint_32 y = 0; y < s.height; ++y) rows[y] = buffer.data() + y * row_bytes;
  if (!read_rows(&s, rows.data())) fail(name, std::string("corrupt or truncated PNG data: ") + s.error);

  Image out(static_cast<int>(s.height), static_cast<int>(s.width), channels);
  if (!gray16) {
    out.pixels = std::move(buffer);
  } else {
    for (std::size_t i = 0; i < out.pixels.size(); ++i)
      out.pixels[i] = static_cast<std::uint8_t>(std::min(255, buffer[2 * i] << 8 | buffer[2 * i + 1]));
  }
  return out;
}

}  // namespace sg::image::detail
