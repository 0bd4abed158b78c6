#pragma once
// Ending a program on SIGINT, SIGTERM or SIGHUP without leaving temp files behind.

namespace pth {

// Removes the temp files of writes in flight (remove_pending_temp_files), then ends the
// process by `signal_number` with its default action, as if no handler had been there.
// Async-signal-safe: for use inside a signal handler.
void end_by_signal(int signal_number) noexcept;

// Installs end_by_signal for SIGINT, SIGTERM and SIGHUP: a conversion stopped half-way
// leaves its output as it was and no temp file.
void end_cleanly_on_termination_signals();

}  // namespace pth
