#include "sg/runtime/libtorch_info.hpp"

#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

namespace sg {

std::string libtorch_description() {
  std::string text = "LibTorch " TORCH_VERSION;
  const at::CUDAHooksInterface& cuda = at::detail::getCUDAHooks();
  long runtime = 0;
  try {
    runtime = cuda.versionCUDART();   // LibTorch without CUDA has only the interface, which throws
  } catch (const std::exception&) {
    return text + ", CPU only (built without CUDA)";
  }
  text += ", CUDA " + std::to_string(runtime / 1000) + "." + std::to_string(runtime % 1000 / 10);
  const int gpus = cuda.hasCUDA() ? cuda.getNumGPUs() : 0;
  return text + (gpus ? ", " + std::to_string(gpus) + (gpus == 1 ? " GPU" : " GPUs") : ", no GPU found");
}

}  // namespace sg
