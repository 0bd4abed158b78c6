// sg::progress_line and sg::progress_bar: the fields a progress report shows, and a bar that
// never takes more than the terminal's width - 1 columns, whatever the width.
#include <catch2/catch.hpp>

#include <regex>

#include "sg/train/progress.hpp"

namespace {

sg::ProgressReport report() {
  sg::ProgressReport r;
  r.epoch = "epoch 2/5";
  r.phase = "train";
  r.done = 120;
  r.total = 469;
  r.loss = 0.41321;
  r.images_per_second = 1830.4;
  r.elapsed_s = 12.7;
  r.eta_s = 34.2;
  return r;
}

// The columns a terminal shows: the text without its colour escapes.
size_t columns(const std::string& text) { return std::regex_replace(text, std::regex("\x1b\\[[0-9;]*m"), "").size(); }

}  // namespace

TEST_CASE("clock_text is m:ss below an hour and h:mm:ss from one") {
  CHECK(sg::clock_text(0) == "0:00");
  CHECK(sg::clock_text(12.9) == "0:12");
  CHECK(sg::clock_text(754) == "12:34");
  CHECK(sg::clock_text(3600) == "1:00:00");
  CHECK(sg::clock_text(36000 + 61) == "10:01:01");
  CHECK(sg::clock_text(-1) == "-:--");
  CHECK(sg::clock_text(1.0 / 0.0) == "-:--");
}

TEST_CASE("eta_seconds scales the time taken by the batches left") {
  CHECK(sg::eta_seconds(10, 5, 15) == Approx(30));
  CHECK(sg::eta_seconds(10, 0, 15) < 0);
}

TEST_CASE("a progress line has the phase, counts, loss, rate, elapsed and ETA") {
  CHECK(sg::progress_line(report()) == "epoch 2/5 train 120/469 (25%) loss 0.4132 1830 img/s elapsed 0:12 ETA 0:34");
  sg::ProgressReport r = report();
  r.phase = "valid";
  r.eta_s = -1;
  CHECK(sg::progress_line(r) == "epoch 2/5 valid 120/469 (25%) loss 0.4132 1830 img/s elapsed 0:12 ETA -:--");
}

TEST_CASE("a progress bar fits width - 1 columns at every width") {
  for (bool color : {false, true}) {
    for (int width = 0; width <= 200; ++width) {
      const std::string bar = sg::progress_bar(report(), width, color);
      INFO("width " << width << ": " << bar);
      CHECK(columns(bar) <= size_t(std::max(width - 1, 0)));
      CHECK(bar.find('\n') == std::string::npos);
      CHECK(bar.find('\r') == std::string::npos);
    }
  }
}

TEST_CASE("a narrow terminal loses the bar first, then the trailing fields") {
  const std::string wide = sg::progress_bar(report(), 120, false);
  CHECK(wide.find("[#######") != std::string::npos);
  CHECK(wide.find("elapsed 0:12 ETA 0:34") != std::string::npos);
  const std::string full_line = sg::progress_line(report());
  // Just room for the line without a bar: every field, no bar.
  const std::string no_bar = sg::progress_bar(report(), int(full_line.size()) + 1, false);
  CHECK(no_bar == full_line);
  const std::string narrow = sg::progress_bar(report(), 40, false);
  CHECK(narrow == "epoch 2/5 train 120/469 (25%)");
  CHECK(sg::progress_bar(report(), 10, false) == "epoch 2/5");
}

TEST_CASE("the bar's filled part follows done / total, in green unless told not to") {
  sg::ProgressReport r = report();
  r.done = r.total;
  const std::string full = sg::progress_bar(r, 200, false);
  CHECK(full.find("[" + std::string(30, '#') + "]") != std::string::npos);
  r.done = 0;
  CHECK(sg::progress_bar(r, 200, false).find("[" + std::string(30, '.') + "]") != std::string::npos);
  CHECK(sg::progress_bar(report(), 200, true).find("\x1b[32m") != std::string::npos);
  CHECK(sg::progress_bar(report(), 200, false).find('\x1b') == std::string::npos);
}
