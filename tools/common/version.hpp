#pragma once
// --version, the same on every program: the toolkit's version and git revision, and what
// the program runs on (LibTorch's version and CUDA, or no LibTorch at all).
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace common {

// `runtime` gives the last line (e.g. sg::libtorch_description), asked only for --version.
void add_version_flag(CLI::App& app, std::function<std::string()> runtime);

// The runtime line of the programs that do not link LibTorch.
std::string without_libtorch();

}  // namespace common
