#pragma once
// SIGINT/SIGTERM (Ctrl-C, preemption) ask a training run to stop after its current step,
// save where it is, and exit; a second signal is left to its default action.

namespace sg {

void install_stop_signal_handlers();
bool stop_requested();
void request_stop();   // as a signal would (tests)

}  // namespace sg
