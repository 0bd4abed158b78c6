#pragma once
// What this program runs on, for --version: LibTorch's version, and CUDA or not.
#include <string>

namespace sg {

// "LibTorch 1.13.0, CPU only (built without CUDA)" or "LibTorch 2.4.0, CUDA 12.1, 2 GPUs".
std::string libtorch_description();

}  // namespace sg
