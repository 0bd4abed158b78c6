#pragma once
// report.html: a picture of a run in one self-contained file (inline CSS and SVG; no
// script, no font or anything else fetched): what it is, the last and the best epoch's
// values, and line charts of the loss, each metric and the rate by epoch and by step.
// No LibTorch.
#include <cstdint>
#include <string>
#include <vector>

#include "train/run_history.hpp"

namespace sg {

struct ReportInfo {
  std::string experiment, run_id, architecture;
  int64_t max_epochs = 0;
  std::string loss_name;   // the loss's columns are Train_<loss_name> and Valid_<loss_name>
  std::string watched;     // metric_to_watch: the best epoch is the best Valid_<watched>
  bool greater_is_better = true;
};

// Every text from the recipe (names) is escaped.
std::string render_run_report(const ReportInfo& info, const MetricsTable& epochs, const std::vector<StepRow>& steps);

}  // namespace sg
