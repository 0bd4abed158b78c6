#pragma once
// The live mappings of input files, kept where a SIGBUS handler can look them up: a
// fixed table of atomics, read without locks or allocation (async-signal-safe).
#include <cstddef>

namespace pth::detail {

// What a program says, after the file's name, when a file changed under its reader.
inline constexpr const char* kFileChangedWhileReading = "the file changed while it was being read";

// Records [begin, begin + size) as a mapping of `path` (which must outlive it). Returns
// the slot to unregister, or -1 when the table is full (a fault there stays a SIGBUS).
int register_mapping(const void* begin, size_t size, const char* path);
void unregister_mapping(int slot);

// The path of the registered mapping that holds `address`, or null. Async-signal-safe.
const char* mapped_path_at(const void* address);

}  // namespace pth::detail
