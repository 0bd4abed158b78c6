#pragma once
// What the dataset readers share: the size limit and the one-line error naming the file.
#include <cstdint>
#include <stdexcept>
#include <string>

namespace sg::data_detail {

constexpr uint64_t kMaxDatasetFileBytes = uint64_t{1} << 31;  // 2 GiB: no sane image dataset file is bigger

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

}  // namespace sg::data_detail
