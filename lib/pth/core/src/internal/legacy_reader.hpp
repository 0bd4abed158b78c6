#pragma once
#include "pth/checkpoint.hpp"

namespace pth::detail {

// True if `head` starts like a legacy (pre-1.6, non-zip) torch.save file.
bool has_legacy_signature(ByteView head);
// Fills ckpt.root / storages / version from a legacy file already mapped in ckpt.file.
void read_legacy(Checkpoint& ckpt, const ReadOptions& options);

}  // namespace pth::detail
