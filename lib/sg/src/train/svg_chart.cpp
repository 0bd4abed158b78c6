#include "train/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sg {
namespace {

const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
constexpr size_t kMaxPoints = 1000;   // per series, after thin_points
constexpr size_t kMarkedPoints = 60;  // series this short get a dot at each point

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v, double step) {
  if (std::fabs(v) < step * 1e-9) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

struct Range {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  bool empty() const { return low > high; }
  // A range of one value is widened so that the value sits inside it.
  void widen() {
    if (low < high) return;
    const double pad = low == 0 ? 1 : std::fabs(low) * 0.1;
    low -= pad;
    high += pad;
  }
};

bool finite(const std::pair<double, double>& p) { return std::isfinite(p.first) && std::isfinite(p.second); }

std::string text(double x, double y, const std::string& anchor, const std::string& content, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" +
         escape_html(content) + "</text>\n";
}

}  // namespace

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double low, double high, int count, double min_step) {
  if (!(low < high) || !std::isfinite(low) || !std::isfinite(high) || count < 1) return {low};
  const double rough = std::max((high - low) / count, min_step);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power * 10;
  for (double m : {1.0, 2.0, 5.0})
    if (rough <= m * power) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  const double first = std::floor(low / step + 1e-9), last = std::ceil(high / step - 1e-9);
  for (double k = first; k <= last; ++k) ticks.push_back(k * step);
  return ticks;
}

std::vector<std::pair<double, double>> thin_points(const std::vector<std::pair<double, double>>& points, size_t limit) {
  if (points.size() <= limit || limit < 3) return points;
  const size_t middle = points.size() - 2, buckets = limit - 2;
  const size_t per_bucket = (middle + buckets - 1) / buckets;
  std::vector<std::pair<double, double>> out = {points.front()};
  for (size_t start = 1; start + 1 < points.size(); start += per_bucket) {
    const size_t end = std::min(start + per_bucket, points.size() - 1);
    double x = 0, y = 0;
    for (size_t i = start; i < end; ++i) {
      x += points[i].first;
      y += points[i].second;
    }
    out.emplace_back(x / double(end - start), y / double(end - start));
  }
  out.push_back(points.back());
  return out;
}

std::string render_svg_chart(const Chart& chart, int width, int height) {
  const double left = 70, right = width - 16.0, top = 48, bottom = height - 44.0;
  std::vector<std::vector<std::pair<double, double>>> drawn;
  Range xs, ys;
  for (const ChartSeries& s : chart.series) {
    std::vector<std::pair<double, double>> kept;
    std::copy_if(s.points.begin(), s.points.end(), std::back_inserter(kept), finite);
    kept = thin_points(kept, kMaxPoints);
    for (const auto& [x, y] : kept) {
      xs.add(x);
      ys.add(y);
    }
    drawn.push_back(std::move(kept));
  }
  // Inline in HTML, an <svg> needs no xmlns: the file names no URL at all.
  std::string svg = "<svg width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) +
                    "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n";
  svg += "<title>" + escape_html(chart.title) + "</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg += text(width / 2.0, 18, "middle", chart.title, " font-size=\"14\" font-weight=\"bold\"");
  if (xs.empty()) {
    svg += text(width / 2.0, height / 2.0, "middle", "no data yet", " fill=\"#777777\"");
    return svg + "</svg>\n";
  }
  xs.widen();
  ys.widen();
  const std::vector<double> xt = nice_ticks(xs.low, xs.high, 6, chart.integer_x ? 1 : 0), yt = nice_ticks(ys.low, ys.high, 5);
  const double x_low = xt.front(), x_high = xt.back(), y_low = yt.front(), y_high = yt.back();
  auto px = [&](double x) { return left + (x - x_low) / (x_high - x_low) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y_low) / (y_high - y_low) * (bottom - top); };

  const double x_step = xt.size() > 1 ? xt[1] - xt[0] : 1, y_step = yt.size() > 1 ? yt[1] - yt[0] : 1;
  for (double t : yt) {
    svg += "<line x1=\"" + num(left) + "\" y1=\"" + num(py(t)) + "\" x2=\"" + num(right) + "\" y2=\"" + num(py(t)) +
           "\" stroke=\"#e5e5e5\"/>\n";
    svg += text(left - 6, py(t) + 4, "end", tick_label(t, y_step));
  }
  for (double t : xt) {
    svg += "<line x1=\"" + num(px(t)) + "\" y1=\"" + num(bottom) + "\" x2=\"" + num(px(t)) + "\" y2=\"" + num(bottom + 4) +
           "\" stroke=\"#333333\"/>\n";
    svg += text(px(t), bottom + 16, "middle", tick_label(t, x_step));
  }
  svg += "<polyline points=\"" + num(left) + "," + num(top) + " " + num(left) + "," + num(bottom) + " " + num(right) + "," +
         num(bottom) + "\" fill=\"none\" stroke=\"#333333\"/>\n";
  svg += text((left + right) / 2, height - 8.0, "middle", chart.x_label);
  svg += text(0, 0, "middle", chart.y_label,
              " transform=\"translate(14," + num((top + bottom) / 2) + ") rotate(-90)\"");

  double legend_x = left;
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const std::string color = kColors[i % (sizeof kColors / sizeof *kColors)];
    const std::vector<std::pair<double, double>>& points = drawn[i];
    std::string coords;
    for (const auto& [x, y] : points) coords += (coords.empty() ? "" : " ") + num(px(x)) + "," + num(py(y));
    if (points.size() > 1)
      svg += "<polyline points=\"" + coords + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>\n";
    if (points.size() <= kMarkedPoints)
      for (const auto& [x, y] : points)
        svg += "<circle cx=\"" + num(px(x)) + "\" cy=\"" + num(py(y)) + "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
    svg += "<line x1=\"" + num(legend_x) + "\" y1=\"34\" x2=\"" + num(legend_x + 18) + "\" y2=\"34\" stroke=\"" + color +
           "\" stroke-width=\"3\"/>\n";
    svg += text(legend_x + 22, 38, "start", chart.series[i].name);
    legend_x += 40 + 6.5 * double(chart.series[i].name.size());
  }
  return svg + "</svg>\n";
}

}  // namespace sg
