#pragma once
// Where a training or validation pass stands, as text: a line of its own (stderr is not a
// terminal) or a one-line bar fitted to a terminal's width. No LibTorch.
#include <cstdint>
#include <string>

namespace sg {

struct ProgressReport {
  std::string epoch;    // "epoch 2/5"
  std::string phase;    // "train", "valid"
  int64_t done = 0, total = 0;   // batches
  double loss = 0;               // of the last batch
  double images_per_second = 0;
  double elapsed_s = 0;          // since the pass started
  double eta_s = -1;             // negative: not known yet
};

// m:ss below an hour, h:mm:ss from one; "-:--" for a negative or non-finite time.
std::string clock_text(double seconds);
// The seconds left of a pass whose `done_here` batches (those this process ran) took
// `elapsed_s`, with `left` to go; -1 before the first batch.
double eta_seconds(double elapsed_s, int64_t done_here, int64_t left);

// "epoch 2/5 train 120/469 (26%) loss 0.4132 1830 img/s elapsed 0:12 ETA 0:34"
std::string progress_line(const ProgressReport& report);
// The same with a bar after the phase, in at most `width` - 1 columns (so that the line
// never wraps): the bar is shortened first, then dropped, then the trailing fields, then
// the text cut. `color`: the bar's filled part in green (ANSI escapes take no column).
std::string progress_bar(const ProgressReport& report, int width, bool color);

}  // namespace sg
