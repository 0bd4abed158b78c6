// The zip container reader: central directory, zip64, entry bounds, inflate limits, CRCs.
#include "fuzz_common.hpp"
#include "pth/error.hpp"
#include "pth/zip_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    pth::ZipReader zip(pth::MappedFile::open(fuzz::write_input(data, size)));
    for (const pth::ZipEntry& e : zip.entries()) {
      if (zip.find(e.name) == nullptr) __builtin_trap();   // every listed name must be found
      try {
        if (e.method == 0) (void)zip.stored_view(e);
        (void)zip.read(e, 16u << 20);
        (void)zip.crc_matches(e);
      } catch (const pth::Error&) {
        // one bad entry: the others are still read
      }
    }
  } catch (const pth::Error&) {
  }
  return 0;
}
