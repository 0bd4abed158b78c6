#pragma once
#include <cstdint>

#include "pth/bytes.hpp"

namespace pth {

// All of `bytes` written at `offset` of the open file `fd` (pwrite, retried after EINTR and
// short writes). Throws NoSpaceError or Error "write failed: <reason>".
void write_at(int fd, uint64_t offset, ByteView bytes);

}  // namespace pth
