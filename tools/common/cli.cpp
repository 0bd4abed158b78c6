#include "common/cli.hpp"

#include <iostream>

#include "common/exit_codes.hpp"
#include "pth/message.hpp"

namespace common {

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return exit_for_parse_error(app, e);
  }
  return std::nullopt;
}

int exit_for_parse_error(const CLI::App& app, const CLI::ParseError& error) {
  if (error.get_exit_code() == 0) return app.exit(error);   // --help, --version
  std::cerr << app.get_name() << ": error: " << pth::first_line(error.what()) << " (see --help)\n";
  return kExitInputError;
}

void print_error(const std::string& program, const std::string& what) {
  std::cerr << program << ": error: " << pth::first_line(what) << "\n";
}

const CLI::Validator& positive_integer() {
  static const CLI::Validator validator(
      [](std::string& text) {
        const std::string why = "must be a positive integer, got '" + text + "'";
        try {
          size_t used = 0;
          return std::stoll(text, &used) > 0 && used == text.size() ? std::string() : why;
        } catch (const std::exception&) {
          return why;
        }
      },
      "N>0", "positive");
  return validator;
}

}  // namespace common
