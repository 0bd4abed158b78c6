#pragma once
// Where the running program's executable lies, so that an installed copy finds what
// it ships (recipes, the other programs) relative to itself, wherever it was installed.
#include <string>

namespace pth {

// The folder of /proc/self/exe, without a trailing slash; "" when it cannot be read.
std::string program_folder();

}  // namespace pth
