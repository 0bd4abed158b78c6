// A run's records: SG's LR tags, metrics.csv and steps.csv written and read back, what a
// continued run keeps, the SVG charts and report.html (self-contained, names escaped).
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "pth/folder.hpp"
#include "recipe/run_errors.hpp"
#include "temp_dir.hpp"
#include "train/run_history.hpp"
#include "train/run_records.hpp"
#include "train/run_report.hpp"
#include "train/svg_chart.hpp"

using Catch::Matchers::Contains;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

sg::EpochRow row(int64_t epoch, bool validated) {
  sg::EpochRow r;
  r.epoch = epoch;
  r.values = {{"Train_Accuracy", 0.1 * double(epoch)}, {"Train_CrossEntropyLoss", 2.0 / double(epoch)}, {"LR", 0.05}};
  if (validated) r.values.insert(r.values.begin() + 2, {{"Valid_Accuracy", 0.2 * double(epoch)}, {"Valid_CrossEntropyLoss", 1.5}});
  r.epoch_seconds = 1.25;
  r.elapsed_seconds = 1.25 * double(epoch);
  return r;
}

sg::ReportInfo info() {
  sg::ReportInfo i;
  i.experiment = "exp <b>&\"'";
  i.run_id = "RUN_20240101_000000_000000";
  i.architecture = "resnet_mini";
  i.max_epochs = 4;
  i.loss_name = "CrossEntropyLoss";
  i.watched = "Accuracy";
  return i;
}

}  // namespace

TEST_CASE("LR tags are SG's: LR for one group, LR/<name> for several, the last of a name winning") {
  CHECK(sg::lr_tags({"default"}, {0.1}) == sg::NamedValues{{"LR", 0.1}});
  CHECK(sg::lr_tags({"default", "default"}, {0.1, 0.2}) == sg::NamedValues{{"LR/default", 0.2}});
  CHECK(sg::lr_tags({"backbone", "head"}, {0.1, 0.2}) == sg::NamedValues{{"LR/backbone", 0.1}, {"LR/head", 0.2}});
  CHECK(sg::lr_tags({}, {0.1, 0.2}) == sg::NamedValues{{"LR/0", 0.1}, {"LR/1", 0.2}});
}

TEST_CASE("metrics.csv: a column that appears later has empty cells before, and reads back") {
  sg::MetricsTable table;
  table.add(row(1, false));
  table.add(row(2, true));
  const std::string csv = table.to_csv();
  CHECK(csv ==
        "epoch,Train_Accuracy,Train_CrossEntropyLoss,Valid_Accuracy,Valid_CrossEntropyLoss,LR,epoch_seconds,elapsed_seconds\n"
        "1,0.1,2,,,0.05,1.25,1.25\n"
        "2,0.2,1,0.4,1.5,0.05,1.25,2.5\n");
  const sg::MetricsTable back = sg::MetricsTable::from_csv(csv);
  REQUIRE(back.rows().size() == 2);
  CHECK(back.to_csv() == csv);
  CHECK(!back.rows()[0].value("Valid_Accuracy"));
  CHECK(*back.rows()[1].value("Valid_Accuracy") == 0.4);
}

TEST_CASE("metrics.csv quotes a name with a comma or quote") {
  sg::MetricsTable table;
  sg::EpochRow r = row(1, false);
  r.values.push_back({"Train_a,\"b\"", 1});
  table.add(r);
  const std::string csv = table.to_csv();
  CHECK_THAT(csv, Contains("\"Train_a,\"\"b\"\"\""));
  CHECK(sg::MetricsTable::from_csv(csv).to_csv() == csv);
}

TEST_CASE("keep_up_to keeps the epochs a continued run does not redo") {
  sg::MetricsTable table;
  for (int64_t e = 1; e <= 4; ++e) table.add(row(e, e % 2 == 0));
  table.keep_up_to(2);
  REQUIRE(table.rows().size() == 2);
  CHECK(table.rows().back().epoch == 2);
}

TEST_CASE("what metrics.csv and steps.csv readers refuse") {
  CHECK_THROWS_WITH(sg::MetricsTable::from_csv(""), Contains("no header"));
  CHECK_THROWS_WITH(sg::MetricsTable::from_csv("a,b\n"), Contains("not the header"));
  CHECK_THROWS_WITH(sg::MetricsTable::from_csv("epoch,LR,epoch_seconds,elapsed_seconds\n1,x,1,1\n"),
                    Contains("line 2: 'x' is not a number"));
  CHECK_THROWS_WITH(sg::MetricsTable::from_csv("epoch,LR,epoch_seconds,elapsed_seconds\n1,1,1\n"), Contains("line 2: 3 fields"));
  CHECK_THROWS_WITH(sg::MetricsTable::from_csv("epoch,LR,epoch_seconds,elapsed_seconds\n1,1,1,1"), Contains("partial row"));
  CHECK_THROWS_WITH(sg::steps_from_csv("step,epoch\n"), Contains("not the header"));
  CHECK_THROWS_WITH(sg::steps_from_csv(std::string(sg::kStepsHeader) + "1.5,1,2,0.1\n"), Contains("not a count"));
  const std::vector<sg::StepRow> steps = sg::steps_from_csv(std::string(sg::kStepsHeader) + sg::step_csv_line({7, 2, 0.5, 0.01}));
  REQUIRE(steps.size() == 1);
  CHECK((steps[0].step == 7 && steps[0].epoch == 2 && steps[0].loss == 0.5 && steps[0].lr == 0.01));
}

TEST_CASE("nice_ticks cover the range at 1, 2 or 5 times a power of ten") {
  const std::vector<double> unit = sg::nice_ticks(0, 1, 5);
  REQUIRE(unit.size() == 6);
  CHECK(unit[1] == Approx(0.2));
  CHECK(unit.back() == Approx(1));
  const std::vector<double> t = sg::nice_ticks(3, 97, 5);
  CHECK(t.front() == 0);
  CHECK(t.back() == 100);
  CHECK(t.size() == 6);
  CHECK(sg::nice_ticks(1, 1, 5) == std::vector<double>{1});
  CHECK(sg::nice_ticks(1, 2, 5, 1) == std::vector<double>{1, 2});
}

TEST_CASE("thin_points keeps the ends and averages the middle into at most the limit") {
  std::vector<std::pair<double, double>> points;
  for (int i = 0; i < 100000; ++i) points.emplace_back(i, i % 2);
  const auto thin = sg::thin_points(points, 1000);
  CHECK(thin.size() <= 1000);
  CHECK(thin.front() == points.front());
  CHECK(thin.back() == points.back());
  CHECK(thin[1].second == Approx(0.5).margin(0.01));
  CHECK(sg::thin_points({{1, 2}}, 1000).size() == 1);
}

TEST_CASE("an SVG chart has axes, tick labels, a legend and escaped names") {
  sg::Chart chart{"Loss <by> epoch", "epoch", "loss", {{"Train_<x>", {{1, 2.0}, {2, 1.5}, {3, 1.0}}}, {"Valid", {{3, 1.2}}}}};
  const std::string svg = sg::render_svg_chart(chart);
  CHECK(svg.rfind("<svg ", 0) == 0);
  CHECK(count(svg, "<svg") == 1);
  CHECK(count(svg, "<polyline") == 2);   // the axes and the one series of several points
  CHECK(count(svg, "<circle") == 4);     // short series are marked, so one point shows
  CHECK_THAT(svg, Contains("Loss &lt;by&gt; epoch"));
  CHECK_THAT(svg, Contains(">Train_&lt;x&gt;</text>"));
  CHECK_THAT(svg, Contains(">Valid</text>"));
  CHECK_THAT(svg, Contains(">1.2</text>"));   // a y tick
  CHECK_THAT(svg, Contains(">2</text>"));   // an x tick
  CHECK(svg.find(">1.5</text>") == std::string::npos);   // epochs: no tick between integers
  CHECK(svg.find("<x>") == std::string::npos);
  const std::string empty = sg::render_svg_chart({"LR", "step", "LR", {{"Step/LR", {{1, 0.0 / 0.0}}}}});
  CHECK_THAT(empty, Contains("no data yet"));
}

TEST_CASE("report.html is self-contained, escapes the recipe's names and has one svg per chart") {
  sg::MetricsTable table;
  table.add(row(1, true));
  table.add(row(2, false));
  table.add(row(3, true));
  std::vector<sg::StepRow> steps;
  for (int64_t s = 1; s <= 12; ++s) steps.push_back({s, (s - 1) / 4 + 1, 2.0 / double(s), 0.05});
  const std::string html = sg::render_run_report(info(), table, steps);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK_THAT(html, Contains("exp &lt;b&gt;&amp;&quot;&#39; / RUN_20240101_000000_000000"));
  CHECK_THAT(html, Contains("resnet_mini, epoch 3 of 4, 12 optimizer steps"));
  // Loss by step, loss by epoch, Accuracy by epoch, LR by step, LR by epoch.
  CHECK(count(html, "<svg") == 5);
  CHECK(count(html, "</svg>") == 5);
  CHECK_THAT(html, Contains("<title>Accuracy by epoch</title>"));
  // The best epoch by Valid_Accuracy is the last (0.6); its column is named.
  CHECK_THAT(html, Contains("last: epoch 3"));
  CHECK_THAT(html, Contains("best Valid_Accuracy: epoch 3"));
}

TEST_CASE("a report before any epoch says so and still draws its charts") {
  const std::string html = sg::render_run_report(info(), {}, {});
  CHECK_THAT(html, Contains("No epoch has finished yet."));
  CHECK(count(html, "<svg") == 4);   // no metric is known yet: no metric chart
}

TEST_CASE("RunRecords: a new run starts steps.csv, a continued one keeps what came before") {
  TempDir dir;
  const pth::Folder run = pth::Folder::open(dir.path().string());
  std::vector<std::string> notes;
  {
    sg::RunRecords records(run, info(), std::nullopt, notes);
    for (int64_t s = 1; s <= 8; ++s) records.add_step({s, (s - 1) / 4 + 1, 1.0, 0.1});
    for (int64_t e = 1; e <= 2; ++e) sg::write_run_file(run, "metrics.csv", records.add_epoch(row(e, true)).metrics_csv);
  }
  CHECK(notes.empty());
  CHECK(sg::MetricsTable::from_csv(read(dir.file("metrics.csv"))).rows().size() == 2);
  sg::MetricsTable earlier;   // as if epoch 1 had ended 1.25 s into the run
  earlier.add(row(1, true));
  earlier.add(row(2, true));
  sg::write_run_file(run, "metrics.csv", earlier.to_csv());
  CHECK(count(read(dir.file("steps.csv")), "\n") == 9);
  // Continued from epoch 1's end, as from its ckpt_latest.pth: epoch 2 and steps 5.. are redone.
  sg::RunRecords again(run, info(), sg::RunRecords::Continued{1, 5}, notes);
  CHECK(notes.empty());
  CHECK(count(read(dir.file("steps.csv")), "\n") == 5);
  again.add_step({5, 2, 0.5, 0.1});
  const sg::RunRecords::Files files = again.add_epoch(row(2, true));
  const sg::MetricsTable table = sg::MetricsTable::from_csv(files.metrics_csv);
  REQUIRE(table.rows().size() == 2);
  CHECK(table.rows()[0].epoch == 1);
  CHECK(table.rows()[1].epoch == 2);
  // Elapsed time goes on from the kept epoch's.
  CHECK(table.rows()[1].elapsed_seconds >= 1.25);
  CHECK(sg::steps_from_csv(read(dir.file("steps.csv"))).back().loss == 0.5);
}

TEST_CASE("RunRecords: unreadable earlier records are started anew with a note") {
  TempDir dir;
  dir.write("metrics.csv", "garbage\n");
  dir.write("steps.csv", std::string(sg::kStepsHeader) + "1,1,0.5,0.1\n2,1,0.4");   // a row cut by a crash
  const pth::Folder run = pth::Folder::open(dir.path().string());
  std::vector<std::string> notes;
  sg::RunRecords records(run, info(), sg::RunRecords::Continued{3, 100}, notes);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Contains("metrics.csv: line 1: not the header"));
  CHECK(read(dir.file("steps.csv")) == std::string(sg::kStepsHeader) + "1,1,0.5,0.1\n");
}

TEST_CASE("write_run_file failures are RunWriteErrors naming the file") {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "report.html");   // nothing can be renamed over it
  const pth::Folder run = pth::Folder::open(dir.path().string());
  CHECK_THROWS_AS(sg::write_run_file(run, "report.html", "x"), sg::RunWriteError);
  CHECK_THROWS_WITH(sg::write_run_file(run, "report.html", "x"), Contains("cannot write " + dir.file("report.html")));
  CHECK(std::filesystem::is_directory(dir.path() / "report.html"));
}
