#pragma once
// Input files are mapped (pth::MappedFile). If another process truncates one while it is
// mapped (torch.save rewrites a file in place: it truncates, then writes), touching the
// pages that are gone raises SIGBUS, which would kill the program without a word.

namespace pth {

// For programs to call once at start-up: a SIGBUS on a live MappedFile then prints
// `<program_name>: error: <file>: the file changed while it was being read` on stderr and
// ends the process with _exit(exit_status); any other SIGBUS keeps the action it had
// before. program_name must stay valid for the life of the process.
void install_mapping_fault_handler(const char* program_name, int exit_status);

}  // namespace pth
