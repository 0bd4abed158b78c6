#pragma once
// A line chart as an inline <svg> element: axes with tick labels, one polyline per series
// (points marked when there are few), a legend. Self-contained: no script, font or URL.
// No LibTorch.
#include <string>
#include <utility>
#include <vector>

namespace sg {

// & < > " ' as entities: for text and attribute values of HTML and SVG.
std::string escape_html(const std::string& text);

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;   // (x, y); non-finite ones are left out
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  bool integer_x = true;   // x counts something (epochs, steps): no tick between integers
};

// Ticks at 1, 2 or 5 times a power of ten covering [low, high], about `count` of them, at
// least `min_step` apart.
std::vector<double> nice_ticks(double low, double high, int count, double min_step = 0);

// At most `limit` points: consecutive points averaged in equal groups (the first and last
// point kept), so that a curve of 100,000 steps stays small and readable.
std::vector<std::pair<double, double>> thin_points(const std::vector<std::pair<double, double>>& points, size_t limit);

// An <svg> `width` x `height` pixels. A chart without any finite point says "no data yet".
std::string render_svg_chart(const Chart& chart, int width = 560, int height = 300);

}  // namespace sg
