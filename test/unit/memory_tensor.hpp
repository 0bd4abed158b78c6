#pragma once
// Tensors over memory the test owns, for building checkpoints without LibTorch.
#include <memory>
#include <vector>

#include "pth/value.hpp"

template <typename T>
std::shared_ptr<pth::Tensor> tensor_of(pth::DType dtype, std::vector<T> values, std::vector<int64_t> shape) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  auto s = std::make_shared<pth::Storage>();
  s->dtype = dtype;
  s->numel = int64_t(owner->size());
  s->data = std::make_shared<pth::MemoryStorageData>(pth::ByteView(owner->data(), owner->size() * sizeof(T)), owner);
  auto t = std::make_shared<pth::Tensor>();
  t->dtype = dtype;
  t->stride = pth::Tensor::contiguous_strides(shape);
  t->shape = std::move(shape);
  t->storage = std::move(s);
  return t;
}
