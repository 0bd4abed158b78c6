#pragma once
// Record signatures and field limits of the zip format: one definition for the reader
// and the writer.
#include <cstdint>

namespace pth::detail::zip {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;  // extra field with the 64-bit sizes and offset
constexpr uint64_t kMax32 = 0xFFFFFFFFu;    // a 32-bit field at this value defers to zip64
constexpr uint16_t kMax16 = 0xFFFF;

}  // namespace pth::detail::zip
