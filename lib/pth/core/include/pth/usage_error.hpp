#pragma once
// Every program's command-line errors as one line and exit status 2, the same for all
// five programs (header only, so that lib/pth does not depend on CLI11).
#include <iostream>
#include <string>

namespace pth {

// For a CLI11 parse error `e` raised by `app`: --help (and the other "success" errors,
// exit code 0) prints what CLI11 prints and returns 0; any other error prints
// `<program>: error: <what> (see --help)` on stderr and returns 2.
template <class App, class ParseError>
int exit_for_parse_error(const App& app, const ParseError& e, const std::string& program) {
  if (e.get_exit_code() == 0) return app.exit(e);
  std::string what = e.what();
  what = what.substr(0, what.find('\n'));
  std::cerr << program << ": error: " << what << " (see --help)\n";
  return 2;
}

}  // namespace pth
