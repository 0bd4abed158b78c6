#pragma once
#include <string>

#include "pth/bytes.hpp"

namespace pth {

// Incremental SHA-256 (OpenSSL's libcrypto underneath, which uses the CPU's SHA
// instructions where present).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(ByteView bytes);
  std::string finish_hex();   // lowercase hex; the object is spent afterwards

 private:
  void* ctx_;
};

// The SHA-256 of a regular file's content, lowercase hex. Throws pth::Error as InputFd, or
// "read failed: <reason>".
std::string file_sha256(const std::string& path);

}  // namespace pth
