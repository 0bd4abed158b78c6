#pragma once
// The format decoders behind decode_memory. Each returns an RGB Image (or a gray one when
// the file is gray, for decode_memory to expand) and throws DecodeError("<name>: <problem>").
#include <cstddef>
#include <cstdint>
#include <string>

#include "image/decode.hpp"

namespace sg::image::detail {

Image decode_jpeg(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options);
Image decode_png(const std::uint8_t* data, std::size_t size, const std::string& name, const DecodeOptions& options);

// Throws unless a width x height image is within options.max_pixels.
void check_dimensions(std::uint64_t width, std::uint64_t height, const std::string& name,
                      const DecodeOptions& options);

[[noreturn]] void fail(const std::string& name, const std::string& problem);

}  // namespace sg::image::detail
