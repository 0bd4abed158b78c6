#pragma once
// SIGINT, SIGTERM and SIGHUP (Ctrl-C, preemption, a closed terminal) during training ask
// the run to stop after its current step, save where it is, and exit; before training
// starts (recipe, data, resume checkpoint) there is nothing to save and they end the
// program at once, except in a data-parallel worker that has joined the others, which
// stops with them after the first step. A second signal ends it at once too. SIGUSR1
// (what sg-train's own launcher sends its workers) only asks: it never ends the program,
// and one that comes before training starts stops the run after its first step. Temp
// files of writes in flight are removed either way.

namespace sg {

// Installs the handlers (start-up behaviour) and ignores SIGPIPE, so that a closed pipe
// on stdout or stderr (`sg-train ... | head -1`) cannot kill a run.
void install_stop_signal_handlers();
// Training has started: from now on the first signal asks for a graceful stop.
void enable_graceful_stop();
bool stop_requested();
void request_stop();   // as a signal would (tests)

}  // namespace sg
