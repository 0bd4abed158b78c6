#pragma once
// Shared by the fuzz targets: a per-process scratch folder and writing the current input
// to a file there, for APIs that only take paths (pth::MappedFile, recipe composition).
// The folder is fuzz-<pid> under $SG_FUZZ_SCRATCH if set (scripts/fuzz sets it and removes
// it afterwards: libFuzzer ends a crashed or timed-out run without atexit handlers), else
// under /dev/shm where there is one (rewriting a file on a disk file system can cost
// milliseconds, 100 times the read itself), else under $TMPDIR; it is removed when the
// process exits normally.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace fuzz {

inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const char* env = std::getenv("SG_FUZZ_SCRATCH");
    const std::filesystem::path base = env && *env ? std::filesystem::path(env)
                                       : std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                                                     : std::filesystem::temp_directory_path();
    const std::filesystem::path d = base / ("fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return dir;
}

// Writes bytes to `relative` under the scratch folder (folders created) and returns its path.
inline std::string write_file(const std::string& relative, const uint8_t* data, size_t size) {
  const std::filesystem::path path = scratch_dir() / relative;
  std::filesystem::create_directories(path.parent_path());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();   // the harness's own failure, not a finding in the library
  }
  return path.string();
}

// The current input as a file; the same path for every input of this process.
inline std::string write_input(const uint8_t* data, size_t size) { return write_file("input.pth", data, size); }

}  // namespace fuzz
