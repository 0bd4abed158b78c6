// Dataset readers (IDX) and the synthetic dataset.
//
// Every count read from a file is checked against the bytes actually present before it is
// used to size anything: the pixel buffer grows with the data read, never with what a
// header claims, and headers announcing more than 2 GiB are refused outright.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/dataset_file.hpp"
#include "data/random.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "sg/data/datasets.hpp"

namespace sg {
namespace {

using data_detail::fail;
constexpr uint64_t kMaxBytes = data_detail::kMaxDatasetFileBytes;
constexpr uint32_t kIdxImages = 0x00000803;        // unsigned byte, 3 dimensions
constexpr uint32_t kIdxLabels = 0x00000801;        // unsigned byte, 1 dimension

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// A file read either raw or through zlib, chosen by the gzip magic 1f 8b.
class InputFile {
 public:
  explicit InputFile(std::string path) : path_(std::move(path)) {
    std::optional<pth::InputFd> input;
    try {
      input.emplace(path_);
    } catch (const pth::Error& e) {
      throw std::runtime_error(path_ + ": " + e.what());
    }
    unsigned char magic[2] = {0, 0};
    const bool gzipped = ::pread(input->get(), magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    errno = 0;
    if (gzipped) {
      gz_ = gzdopen(input->get(), "rb");
      if (gz_) gzbuffer(gz_, 1 << 17);
    } else {
      file_ = ::fdopen(input->get(), "rb");
    }
    if (!gz_ && !file_) throw std::runtime_error(path_ + ": cannot open: " + (errno ? std::strerror(errno) : "gzdopen failed"));
    input->release();   // now owned by the stream
  }
  ~InputFile() {
    if (file_) std::fclose(file_);
    if (gz_) gzclose(gz_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  bool gzipped() const { return gz_ != nullptr; }
  const std::string& path() const { return path_; }

  // Reads up to n bytes; fewer only at the end of the data. Throws on I/O or gzip errors.
  size_t read(void* buffer, size_t n) {
    auto* out = static_cast<unsigned char*>(buffer);
    size_t total = 0;
    while (total < n) {
      const size_t want = std::min<size_t>(n - total, size_t{1} << 30);
      if (gz_) {
        const int got = gzread(gz_, out + total, static_cast<unsigned>(want));
        if (got < 0) {
          int code = 0;
          const char* msg = gzerror(gz_, &code);
          fail(path_, std::string("corrupt gzip data: ") + (msg ? msg : "unknown error"));
        }
        if (got == 0) break;
        total += static_cast<size_t>(got);
      } else {
        const size_t got = std::fread(out + total, 1, want, file_);
        total += got;
        if (got < want) {
          if (std::ferror(file_)) fail(path_, std::string("read error: ") + std::strerror(errno));
          break;
        }
      }
    }
    return total;
  }

  // Why the data ended (for truncation messages): a gzip stream cut short says so.
  std::string end_note() {
    if (!gz_) return "";
    int code = 0;
    gzerror(gz_, &code);
    return code == Z_BUF_ERROR ? " (the gzip stream ends early)" : "";
  }

  // Reads `expected` bytes into a buffer that grows with the data actually present, then
  // checks that nothing follows them.
  std::vector<uint8_t> read_body(uint64_t expected, const char* what) {
    std::vector<uint8_t> data;
    uint64_t got = 0;
    while (got < expected) {
      const uint64_t chunk = std::min<uint64_t>(expected - got, uint64_t{16} << 20);
      data.resize(got + chunk);
      const size_t n = read(data.data() + got, chunk);
      got += n;
      if (n < chunk) break;
    }
    data.resize(got);
    if (got < expected)
      fail(path_, "truncated: expected " + std::to_string(expected) + " " + what + " bytes, found " +
                      std::to_string(got) + end_note());
    unsigned char extra;
    if (read(&extra, 1) != 0)
      fail(path_, "trailing data after the " + std::to_string(expected) + " " + what +
                      " bytes its header announces");
    return data;
  }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
};

void read_header(InputFile& in, unsigned char* header, size_t n, const char* kind) {
  const size_t got = in.read(header, n);
  if (got >= 4) {
    const uint32_t magic = be32(header);
    const uint32_t want = n == 16 ? kIdxImages : kIdxLabels;
    if (magic != want) {
      std::string hint;
      if (magic == kIdxLabels) hint = "; it looks like an IDX label file";
      if (magic == kIdxImages) hint = "; it looks like an IDX image file";
      fail(in.path(), "bad magic " + hex32(magic) + " (not an IDX " + kind + " file" + hint + ")");
    }
  }
  if (got < n)
    fail(in.path(), "truncated: expected a " + std::to_string(n) + "-byte IDX " + kind + " header, found " +
                        std::to_string(got) + " bytes" + in.end_note());
}

}  // namespace

ImageDataset load_idx(const std::string& images_path, const std::string& labels_path) {
  ImageDataset data;
  uint32_t image_count = 0;
  {
    InputFile in(images_path);
    unsigned char header[16];
    read_header(in, header, 16, "image");
    image_count = be32(header + 4);
    const uint32_t rows = be32(header + 8), cols = be32(header + 12);
    if (image_count == 0) fail(images_path, "no images (the header says 0)");
    if (rows == 0 || cols == 0)
      fail(images_path, "bad image size " + std::to_string(rows) + "x" + std::to_string(cols));
    const uint64_t per_image = uint64_t{rows} * cols;
    if (per_image > kMaxBytes || image_count > kMaxBytes / per_image)
      fail(images_path, "absurd header: " + std::to_string(image_count) + " images of " + std::to_string(rows) + "x" +
                            std::to_string(cols) + " exceed the 2 GiB limit");
    data.pixels = in.read_body(per_image * image_count, "pixel");
    data.size = image_count;
    data.channels = 1;
    data.height = rows;
    data.width = cols;
  }
  {
    InputFile in(labels_path);
    unsigned char header[8];
    read_header(in, header, 8, "label");
    const uint32_t label_count = be32(header + 4);
    if (label_count != image_count)
      throw std::runtime_error(images_path + " and " + labels_path + ": image count " + std::to_string(image_count) +
                               " and label count " + std::to_string(label_count) + " differ");
    const std::vector<uint8_t> raw = in.read_body(label_count, "label");
    data.labels.assign(raw.begin(), raw.end());
    data.num_classes = *std::max_element(raw.begin(), raw.end()) + 1;
  }
  return data;
}

ImageDataset make_synthetic(int64_t size, int64_t channels, int64_t height, int64_t width, int64_t num_classes,
                            uint64_t seed) {
  using data_detail::key;
  using data_detail::SplitMix64;
  if (size <= 0 || channels <= 0 || height <= 0 || width <= 0 || num_classes <= 0)
    throw std::invalid_argument("make_synthetic: size, channels, height, width and num_classes must be positive");
  const uint64_t per_image = static_cast<uint64_t>(channels) * height * width;
  if (per_image > kMaxBytes || static_cast<uint64_t>(size) > kMaxBytes / per_image)
    throw std::invalid_argument("make_synthetic: more than 2 GiB of pixels requested");
  if (num_classes > 256) throw std::invalid_argument("make_synthetic: at most 256 classes");

  // Class templates: a coarse 4x4 grid of levels per channel, so that a class stays
  // recognisable under small crops and flips, and a small net learns it within an epoch.
  constexpr int64_t kGrid = 4;
  std::vector<uint8_t> levels(static_cast<size_t>(num_classes * channels * kGrid * kGrid));
  {
    SplitMix64 rng(key(seed, data_detail::kSyntheticStream, ~uint64_t{0}));
    for (auto& level : levels) level = static_cast<uint8_t>(32 + rng.below(193));  // 32..224
  }
  ImageDataset data;
  data.size = size;
  data.channels = channels;
  data.height = height;
  data.width = width;
  data.num_classes = num_classes;
  data.pixels.resize(static_cast<size_t>(per_image * size));
  data.labels.resize(static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) {
    SplitMix64 rng(key(seed, data_detail::kSyntheticStream, static_cast<uint64_t>(i)));
    const int64_t label = static_cast<int64_t>(rng.below(static_cast<uint64_t>(num_classes)));
    data.labels[i] = label;
    uint8_t* out = data.pixels.data() + i * per_image;
    const uint8_t* tmpl = levels.data() + label * channels * kGrid * kGrid;
    uint64_t bits = 0;
    int left = 0;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < height; ++y)
        for (int64_t x = 0; x < width; ++x) {
          if (left == 0) {
            bits = rng.next();
            left = 8;
          }
          const int noise = static_cast<int>(bits & 0xff) % 81 - 40;  // -40..40
          bits >>= 8;
          --left;
          const int level = tmpl[(c * kGrid + y * kGrid / height) * kGrid + x * kGrid / width];
          *out++ = static_cast<uint8_t>(std::clamp(level + noise, 0, 255));
        }
  }
  return data;
}

}  // namespace sg
