#pragma once
// A snapshot of a value tree for writing it later, on another thread, while the memory
// its tensors view goes on changing (the weights of a model that keeps training).
#include <cstdint>
#include <memory>

#include "pth/value.hpp"

namespace pth {

class PageBuffer;

class StagingBuffer {
 public:
  // A copy of `root` that shares nothing that can change: the containers and tensors are
  // copied, and every storage's bytes are copied once into this buffer (views of one
  // storage stay views of one copy; snapshot storages are kept as they are). The buffer's
  // memory is reused by the next stage() once the previous copy is dropped, and grows to
  // the largest value staged; while a copy is still held, the next one gets new memory.
  // Throws pth::Error for a storage without data.
  Value stage(const Value& root);

  uint64_t capacity() const;       // bytes of the buffer's current memory
  uint64_t last_staged() const { return last_staged_; }   // bytes copied by the last stage()

 private:
  std::shared_ptr<PageBuffer> block_;   // shared with the storages staged in it
  uint64_t last_staged_ = 0;
};

}  // namespace pth
