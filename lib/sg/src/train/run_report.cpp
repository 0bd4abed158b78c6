#include "train/run_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "sg/train/progress.hpp"
#include "train/svg_chart.hpp"

namespace sg {
namespace {

const char* const kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222;background:#fafafa}"
    "h1{font-size:20px;margin:0 0 4px}p.about{margin:0 0 16px;color:#555}"
    "table{border-collapse:collapse;margin:0 0 20px;background:#fff}"
    "th,td{border:1px solid #ddd;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}"
    "div.charts{display:flex;flex-wrap:wrap;gap:12px}div.charts svg{border:1px solid #ddd}";

std::string value_text(std::optional<double> v) {
  if (!v) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

ChartSeries epoch_series(const MetricsTable& table, const std::string& column) {
  ChartSeries s{column, {}};
  for (const EpochRow& row : table.rows())
    if (const std::optional<double> v = row.value(column)) s.points.emplace_back(double(row.epoch), *v);
  return s;
}

bool has_column(const std::vector<std::string>& columns, const std::string& name) {
  return std::find(columns.begin(), columns.end(), name) != columns.end();
}

// The epoch of the best Valid_<watched>, the first of equal ones.
const EpochRow* best_row(const ReportInfo& info, const MetricsTable& table) {
  const EpochRow* best = nullptr;
  for (const EpochRow& row : table.rows()) {
    const std::optional<double> v = row.value("Valid_" + info.watched);
    if (!v || !std::isfinite(*v)) continue;
    const double held = best ? *best->value("Valid_" + info.watched) : 0;
    if (!best || (info.greater_is_better ? *v > held : *v < held)) best = &row;
  }
  return best;
}

std::string summary_table(const ReportInfo& info, const MetricsTable& table) {
  if (table.rows().empty()) return "<p>No epoch has finished yet.</p>\n";
  const EpochRow& last = table.rows().back();
  const EpochRow* best = best_row(info, table);
  std::string html = "<table>\n<tr><th>value</th><th>last: epoch " + std::to_string(last.epoch) + "</th>";
  if (best)
    html += "<th>best " + escape_html("Valid_" + info.watched) + ": epoch " + std::to_string(best->epoch) + "</th>";
  html += "</tr>\n";
  for (const std::string& column : table.columns()) {
    html += "<tr><td>" + escape_html(column) + "</td><td>" + value_text(last.value(column)) + "</td>";
    if (best) html += "<td>" + value_text(best->value(column)) + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

std::vector<Chart> charts(const ReportInfo& info, const MetricsTable& table, const std::vector<StepRow>& steps) {
  const std::vector<std::string> columns = table.columns();
  std::vector<Chart> out;
  Chart step_loss{"Training loss by step", "step", info.loss_name, {{"Step/Train_" + info.loss_name, {}}}};
  Chart step_lr{"Learning rate by step", "step", "LR", {{"Step/LR", {}}}};
  for (const StepRow& s : steps) {
    step_loss.series[0].points.emplace_back(double(s.step), s.loss);
    step_lr.series[0].points.emplace_back(double(s.step), s.lr);
  }
  out.push_back(step_loss);
  out.push_back({"Loss by epoch", "epoch", info.loss_name,
                 {epoch_series(table, "Train_" + info.loss_name), epoch_series(table, "Valid_" + info.loss_name)}});
  std::vector<std::string> metrics;   // Accuracy, Top5, ... in column order, the loss left out
  for (const std::string& column : columns) {
    const bool phase = column.rfind("Train_", 0) == 0 || column.rfind("Valid_", 0) == 0;
    const std::string metric = phase ? column.substr(6) : "";
    if (phase && metric != info.loss_name && !has_column(metrics, metric)) metrics.push_back(metric);
  }
  for (const std::string& metric : metrics) {
    Chart chart{metric + " by epoch", "epoch", metric, {}};
    for (const char* phase : {"Train_", "Valid_"})
      if (has_column(columns, phase + metric)) chart.series.push_back(epoch_series(table, phase + metric));
    out.push_back(chart);
  }
  out.push_back(step_lr);
  Chart epoch_lr{"Learning rate by epoch (at its start)", "epoch", "LR", {}};
  for (const std::string& column : columns)
    if (column.rfind("LR", 0) == 0) epoch_lr.series.push_back(epoch_series(table, column));
  out.push_back(epoch_lr);
  return out;
}

}  // namespace

std::string render_run_report(const ReportInfo& info, const MetricsTable& epochs, const std::vector<StepRow>& steps) {
  const int64_t done = epochs.rows().empty() ? 0 : epochs.rows().back().epoch;
  const double elapsed = epochs.rows().empty() ? 0 : epochs.rows().back().elapsed_seconds;
  const std::string title = info.experiment + " / " + info.run_id;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + escape_html(title) +
                     "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>" + escape_html(title) + "</h1>\n";
  html += "<p class=\"about\">" + escape_html(info.architecture) + ", epoch " + std::to_string(done) + " of " +
          std::to_string(info.max_epochs) + ", " + std::to_string(steps.size()) + " optimizer steps, " +
          clock_text(elapsed) + " of training</p>\n";
  html += summary_table(info, epochs);
  html += "<div class=\"charts\">\n";
  for (const Chart& chart : charts(info, epochs, steps)) html += render_svg_chart(chart);
  return html + "</div>\n</body>\n</html>\n";
}

}  // namespace sg
