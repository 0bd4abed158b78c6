#pragma once
// The shortest decimal text of a double that reads back to the same double (what Python's
// repr() and YAML writers print), without a forced decimal point.
#include <string>

namespace pth {

// A finite `value` in %g form with the fewest significant digits (1 to 17) that strtod
// reads back exactly: 0.1 -> "0.1", 3.0 -> "3", 1e-05 -> "1e-05".
std::string shortest_float_text(double value);

}  // namespace pth
