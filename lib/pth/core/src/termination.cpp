#include "pth/termination.hpp"

#include <signal.h>

#include <initializer_list>

#include "pth/atomic_file.hpp"

namespace pth {

void end_by_signal(int signal_number) noexcept {
  remove_pending_temp_files();
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal_number, &action, nullptr);
  // Blocked while its handler runs: delivered with the default action once it returns.
  raise(signal_number);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, signal_number);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
}

void end_cleanly_on_termination_signals() {
  struct sigaction action {};
  action.sa_handler = end_by_signal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaction(s, &action, nullptr);
}

}  // namespace pth
