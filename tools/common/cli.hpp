#pragma once
// What every program does the same way on its command line: parsing, one-line errors,
// the checks of number options.
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace common {

// Parses the command line. Returns the status to exit with when the program ends here:
// 0 after --help (printed as CLI11 prints it), 2 after a usage error, printed as one line
// `<program>: error: <what> (see --help)` on stderr. nullopt: go on.
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

// The same for a parse error raised after app.parse() (a check of the parsed values).
int exit_for_parse_error(const CLI::App& app, const CLI::ParseError& error);

// `<program>: error: <first line of what>` on stderr.
void print_error(const std::string& program, const std::string& what);

// An integer option that must be > 0 ("must be a positive integer, got 'x'").
const CLI::Validator& positive_integer();

}  // namespace common
