// The safetensors reader over bytes in memory, then every tensor read and the header
// written back from what was parsed.
#include "pth/error.hpp"
#include "pth/safetensors.hpp"
#include "pth/tensor_data.hpp"
#include "pth/tensor_walk.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)pth::looks_like_safetensors(pth::ByteView(data, size), size);
  try {
    const pth::SafetensorsFile file = pth::parse_safetensors(pth::ByteView(data, size), nullptr);
    std::vector<pth::NamedTensor> tensors;
    for (const pth::TensorAt& t : pth::collect_tensors(file.tensors)) {
      if (t.tensor->nbytes() > size) __builtin_trap();   // the data must be inside the input
      (void)pth::tensor_sha256(*t.tensor);
      (void)pth::tensor_stats(*t.tensor);
      tensors.push_back({t.path, t.tensor});
    }
    (void)pth::safetensors_header(tensors, file.metadata);
  } catch (const pth::Error&) {
  }
  return 0;
}
