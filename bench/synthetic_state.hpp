#pragma once
// The benchmarks' synthetic state dict, from a shapes file that bench/torch_io.py writes
// and reads too: one tensor per line, "name d0 d1 ...", float32, contiguous. Tensor number
// k (from 0) holds element i (row-major) = ((i + k) mod 1024) / 1024, exactly as
// torch_io.py fills it, so both sides hold the same bytes.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "pth/value.hpp"

namespace {

struct ShapeLine {
  std::string name;
  std::vector<int64_t> shape;
};

std::vector<ShapeLine> read_shapes(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open shapes file " + path);
  std::vector<ShapeLine> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ShapeLine s;
    fields >> s.name;
    int64_t d;
    while (fields >> d) s.shape.push_back(d);
    out.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<void> allocate(size_t bytes) {
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) throw std::bad_alloc();
  return std::shared_ptr<void>(p, std::free);
}

// The state dict: an OrderedDict of contiguous float32 tensors, one storage each.
pth::Value make_state_dict(const std::vector<ShapeLine>& shapes, uint64_t* total_bytes) {
  pth::Value root = pth::Value::dict(/*ordered=*/true);
  uint64_t total = 0;
  int64_t k = 0;
  for (const ShapeLine& s : shapes) {
    auto t = std::make_shared<pth::Tensor>();
    t->dtype = pth::DType::Float32;
    t->shape = s.shape;
    t->stride = pth::Tensor::contiguous_strides(s.shape);
    const int64_t n = t->numel();
    const size_t bytes = size_t(n) * sizeof(float);
    std::shared_ptr<void> buffer = allocate(bytes);
    float* p = static_cast<float*>(buffer.get());
    for (int64_t i = 0; i < n; ++i) p[i] = float((i + k) & 1023) * (1.0f / 1024.0f);
    auto storage = std::make_shared<pth::Storage>();
    storage->dtype = pth::DType::Float32;
    storage->numel = n;
    storage->data = std::make_shared<pth::MemoryStorageData>(pth::ByteView(p, bytes), buffer);
    t->storage = storage;
    root.as_dict().set(pth::Value::string(s.name), pth::Value::tensor(t));
    total += bytes;
    ++k;
  }
  *total_bytes = total;
  return root;
}

}  // namespace
