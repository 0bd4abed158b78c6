#include "sg/train/stop_signal.hpp"

#include <csignal>
#include <initializer_list>

#include "pth/termination.hpp"

namespace sg {
namespace {

volatile std::sig_atomic_t stop_flag = 0;
volatile std::sig_atomic_t graceful = 0;

void on_signal(int signal_number) {
  // SIGUSR1 only asks, and never forces: before training starts, the run stops after its
  // first step.
  if (signal_number == SIGUSR1 || (graceful && !stop_flag)) {
    stop_flag = 1;
    return;
  }
  pth::end_by_signal(signal_number);
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGUSR1}) sigaction(s, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void enable_graceful_stop() { graceful = 1; }

bool stop_requested() { return stop_flag != 0; }

void request_stop() { stop_flag = 1; }

}  // namespace sg
