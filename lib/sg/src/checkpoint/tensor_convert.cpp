#include "sg/checkpoint/tensor_convert.hpp"

#include <torch/torch.h>

#include "pth/error.hpp"
#include "pth/page_buffer.hpp"
#include "pth/tensor_data.hpp"

namespace sg {
namespace {

// Keeps a torch tensor alive for as long as a pth storage views its memory.
class TorchStorageData : public pth::StorageData {
 public:
  TorchStorageData(torch::Tensor t, bool copy) : tensor_(std::move(t)), copy_(copy) {}
  pth::ByteView bytes() const override { return {tensor_.data_ptr(), size_t(tensor_.numel()) * tensor_.element_size()}; }
  bool is_snapshot() const override { return copy_; }

 private:
  torch::Tensor tensor_;
  bool copy_;   // made for this storage: nothing else holds it
};

void append_state(const torch::nn::Module& module, const std::string& prefix, NamedTensors& out) {
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  for (const auto& child : module.named_children()) append_state(*child.value(), prefix + child.key() + ".", out);
}

}  // namespace

NamedTensors state_dict(const torch::nn::Module& module) {
  NamedTensors out;
  append_state(module, "", out);
  return out;
}

torch::ScalarType to_torch_dtype(pth::DType dtype) {
  switch (dtype) {
    case pth::DType::Float32: return torch::kFloat32;
    case pth::DType::Float64: return torch::kFloat64;
    case pth::DType::Float16: return torch::kFloat16;
    case pth::DType::BFloat16: return torch::kBFloat16;
    case pth::DType::Int64: return torch::kInt64;
    case pth::DType::Int32: return torch::kInt32;
    case pth::DType::Int16: return torch::kInt16;
    case pth::DType::Int8: return torch::kInt8;
    case pth::DType::UInt8: return torch::kUInt8;
    case pth::DType::Bool: return torch::kBool;
    case pth::DType::Complex64: return torch::kComplexFloat;
    case pth::DType::Complex128: return torch::kComplexDouble;
  }
  throw pth::FormatError("unknown dtype");
}

pth::DType to_pth_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return pth::DType::Float32;
    case torch::kFloat64: return pth::DType::Float64;
    case torch::kFloat16: return pth::DType::Float16;
    case torch::kBFloat16: return pth::DType::BFloat16;
    case torch::kInt64: return pth::DType::Int64;
    case torch::kInt32: return pth::DType::Int32;
    case torch::kInt16: return pth::DType::Int16;
    case torch::kInt8: return pth::DType::Int8;
    case torch::kUInt8: return pth::DType::UInt8;
    case torch::kBool: return pth::DType::Bool;
    case torch::kComplexFloat: return pth::DType::Complex64;
    case torch::kComplexDouble: return pth::DType::Complex128;
    default: throw pth::Error(std::string("dtype ") + c10::toString(type) + " cannot be saved");
  }
}

pth::Value to_pth(const torch::Tensor& tensor) {
  // Detached so that the saved data is not tied to autograd; a CPU contiguous tensor is
  // referenced in place, anything else is made so with one copy (off a device: to pinned
  // memory, which the device copies to at full speed).
  const torch::Tensor detached = tensor.detach();
  torch::Tensor data = detached;
  if (!data.device().is_cpu()) {
    data = torch::empty(data.sizes(), data.options().device(torch::kCPU).pinned_memory(true));
    data.copy_(detached);
  }
  data = data.contiguous();
  const bool copy = !data.is_same(detached);
  auto storage = std::make_shared<pth::Storage>();
  storage->dtype = to_pth_dtype(data.scalar_type());
  storage->numel = data.numel();
  storage->device = "cpu";
  storage->data = std::make_shared<TorchStorageData>(data, copy);
  auto t = std::make_shared<pth::Tensor>();
  t->dtype = storage->dtype;
  t->shape = data.sizes().vec();
  t->stride = pth::Tensor::contiguous_strides(t->shape);
  t->storage = std::move(storage);
  return pth::Value::tensor(t);
}

pth::Value to_pth_state_dict(const NamedTensors& tensors) {
  pth::Value dict = pth::Value::dict(/*ordered=*/true);
  auto& items = dict.as_dict().items;
  items.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) items.emplace_back(pth::Value::string(name), to_pth(tensor));
  return dict;
}

namespace {

// Uninitialised memory for t's elements. Large tensors land in huge pages: with 4 KiB
// pages, faulting in the fresh memory costs more than reading the file into it.
torch::Tensor empty_like(const pth::Tensor& t) {
  const auto options = torch::TensorOptions().dtype(to_torch_dtype(t.dtype));
  constexpr uint64_t kHugePagesFrom = 4 << 20;
  if (t.nbytes() < kHugePagesFrom) return torch::empty(t.shape, options);
  auto memory = std::make_shared<pth::PageBuffer>(size_t(t.nbytes()));
  return torch::from_blob(memory->data(), t.shape, [memory](void*) {}, options);
}

}  // namespace

torch::Tensor to_torch(const pth::Tensor& t) {
  torch::Tensor out = empty_like(t);
  pth::copy_elements(t, out.data_ptr());
  return out;
}

std::vector<torch::Tensor> to_torch_all(const std::vector<const pth::Tensor*>& tensors) {
  std::vector<torch::Tensor> out;
  std::vector<pth::ElementCopy> copies;
  out.reserve(tensors.size());
  copies.reserve(tensors.size());
  for (const pth::Tensor* t : tensors) {
    out.push_back(empty_like(*t));
    copies.push_back({t, out.back().data_ptr()});
  }
  pth::copy_elements(copies);
  return out;
}

}  // namespace sg
