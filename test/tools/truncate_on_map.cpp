// Test-only LD_PRELOAD library: right after a program maps the file named by
// $SG_TEST_TRUNCATE_ON_MAP, that file is cut to half its size, as torch.save rewriting it in
// place would do. The program's next touch of the lost pages then faults every time (no
// race with a second process), which is how test_integrity.py checks the fault handler.
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

extern "C" void* mmap(void* address, size_t length, int protection, int flags, int fd, off_t offset) noexcept {
  using Mmap = void* (*)(void*, size_t, int, int, int, off_t);
  static const auto real_mmap = reinterpret_cast<Mmap>(::dlsym(RTLD_NEXT, "mmap"));
  void* mapped = real_mmap(address, length, protection, flags, fd, offset);
  const char* target = std::getenv("SG_TEST_TRUNCATE_ON_MAP");
  struct stat of_fd, of_target;
  if (mapped != MAP_FAILED && fd >= 0 && target != nullptr && ::fstat(fd, &of_fd) == 0 &&
      ::stat(target, &of_target) == 0 && of_fd.st_dev == of_target.st_dev && of_fd.st_ino == of_target.st_ino)
    (void)::truncate(target, of_target.st_size / 2);
  return mapped;
}
