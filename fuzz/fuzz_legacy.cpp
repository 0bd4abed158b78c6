// The legacy (pre-1.6, non-zip) torch.save format: magic, protocol, system info, the
// object pickle, the storage key list and the raw storages. Inputs that do not start
// like a legacy file are rejected (kept out of the corpus) so that every run reaches
// the legacy reader rather than the zip one.
#include "checkpoint_checks.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || data[0] != 0x80 || data[1] < 2 || data[1] > 5) return -1;
  fuzz::check_checkpoint_file(fuzz::write_input(data, size));
  return 0;
}
