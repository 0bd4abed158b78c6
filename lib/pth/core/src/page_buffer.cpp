#include "pth/page_buffer.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <string>

#include "pth/error.hpp"

namespace pth {

PageBuffer::PageBuffer(size_t bytes) : size_(bytes == 0 ? 1 : bytes) {
  void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw_io_error("cannot allocate " + std::to_string(size_) + " bytes", errno);
  ::madvise(p, size_, MADV_HUGEPAGE);   // a hint: without huge pages the copy is only slower
  data_ = static_cast<uint8_t*>(p);
}

PageBuffer::~PageBuffer() { ::munmap(data_, size_); }

}  // namespace pth
