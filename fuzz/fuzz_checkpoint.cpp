// The whole checkpoint read (zip or legacy, whichever the bytes look like), then what
// sg-ckpt-inspect does with it: tensors hashed, statistics, verify, JSON/text, diff.
#include "checkpoint_checks.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::check_checkpoint_file(fuzz::write_input(data, size));
  return 0;
}
