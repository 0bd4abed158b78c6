#include "sg/stop_signal.hpp"

#include <csignal>

namespace sg {
namespace {

volatile std::sig_atomic_t stop_flag = 0;

void on_signal(int signal_number) {
  stop_flag = 1;
  std::signal(signal_number, SIG_DFL);  // a second Ctrl-C ends the program at once
}

}  // namespace

void install_stop_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool stop_requested() { return stop_flag != 0; }

void request_stop() { stop_flag = 1; }

}  // namespace sg
