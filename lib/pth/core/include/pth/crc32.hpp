#pragma once
#include <cstdint>

#include "pth/bytes.hpp"

namespace pth {

// CRC-32 (the zip polynomial), incremental: crc = crc32_update(crc, bytes), start from 0.
uint32_t crc32_update(uint32_t crc, ByteView bytes);

}  // namespace pth
