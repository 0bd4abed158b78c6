#pragma once
// Memory for copying a large state into: anonymous pages, asked for as transparent huge
// pages. Copying a gigabyte into 4 KiB pages touched for the first time costs more in
// page faults than the copy itself; in 2 MiB pages the faults all but vanish.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace pth {

class PageBuffer {
 public:
  // Throws pth::Error when the memory cannot be had.
  explicit PageBuffer(size_t bytes);
  ~PageBuffer();
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pth
