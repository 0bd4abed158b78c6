#include "sg/train/progress.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

namespace sg {
namespace {

std::string format(const char* pattern, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, pattern, value);
  return buf;
}

// Everything after the phase, in the order they are dropped last to first.
std::vector<std::string> fields(const ProgressReport& r) {
  const int64_t percent = r.total > 0 ? r.done * 100 / r.total : 0;
  return {std::to_string(r.done) + "/" + std::to_string(r.total),
          "(" + std::to_string(percent) + "%)",
          format("loss %.4f", r.loss),
          format("%.0f img/s", r.images_per_second),
          "elapsed " + clock_text(r.elapsed_s),
          "ETA " + clock_text(r.eta_s)};
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : " ") + part;
  return out;
}

}  // namespace

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-:--";
  const auto total = static_cast<long long>(seconds);
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", m, s);
  return buf;
}

double eta_seconds(double elapsed_s, int64_t done_here, int64_t left) {
  if (done_here <= 0) return -1;
  return elapsed_s * double(left) / double(done_here);
}

std::string progress_line(const ProgressReport& report) {
  return report.epoch + " " + report.phase + " " + joined(fields(report));
}

std::string progress_bar(const ProgressReport& report, int width, bool color) {
  const size_t budget = width > 1 ? size_t(width - 1) : 0;
  const std::string head = report.epoch + " " + report.phase;
  std::vector<std::string> rest = fields(report);
  constexpr size_t kMaxCells = 30, kMinCells = 5;
  const size_t without_bar = head.size() + 1 + joined(rest).size();
  // " [" + cells + "]" between the phase and the fields.
  if (without_bar + 3 + kMinCells <= budget) {
    const size_t cells = std::min(kMaxCells, budget - without_bar - 3);
    const size_t filled = report.total > 0 ? size_t(std::min(report.done, report.total)) * cells / size_t(report.total) : 0;
    return head + " [" + (color ? "\x1b[32m" : "") + std::string(filled, '#') + (color ? "\x1b[0m" : "") +
           std::string(cells - filled, '.') + "] " + joined(rest);
  }
  while (!rest.empty() && head.size() + 1 + joined(rest).size() > budget) rest.pop_back();
  const std::string text = rest.empty() ? head : head + " " + joined(rest);
  return text.substr(0, budget);
}

}  // namespace sg
