#pragma once
// The `packages` entry of SG's checkpoints: what wrote the file, and with which versions.
// SG stores every installed Python package; we store what this build is made of (the
// writing program's version and LibTorch's), known at compile time, without probing the
// system.
#include <string>

#include "pth/value.hpp"

namespace sg {

// This toolkit's version (CMake's PROJECT_VERSION).
const char* toolkit_version();

// {<program>: toolkit_version(), "libtorch": LibTorch's version}, a dict of strings as SG's.
pth::Value packages_entry(const std::string& program);

}  // namespace sg
