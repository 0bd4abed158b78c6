#include "train/run_history.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace sg {
namespace {

std::string number_text(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", value);
  return buf;
}

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_field(fields[i]);
  return out + "\n";
}

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, in_row = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    in_row = true;
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      in_row = false;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (quoted) throw std::runtime_error("line " + std::to_string(rows.size() + 1) + ": an unterminated quote");
  if (in_row) throw std::runtime_error("line " + std::to_string(rows.size() + 1) + ": no line end (a partial row)");
  return rows;
}

double parse_number(const std::string& text, size_t line) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    throw std::runtime_error("line " + std::to_string(line) + ": '" + text + "' is not a number");
  return v;
}

int64_t parse_count(const std::string& text, size_t line) {
  const double v = parse_number(text, line);
  if (v < 0 || v != double(int64_t(v)))
    throw std::runtime_error("line " + std::to_string(line) + ": '" + text + "' is not a count");
  return int64_t(v);
}

int group_of(const std::string& column) {
  if (column.rfind("Train_", 0) == 0) return 0;
  if (column.rfind("Valid_", 0) == 0) return 1;
  return 2;
}

}  // namespace

NamedValues lr_tags(const std::vector<std::string>& group_names, const std::vector<double>& lrs) {
  if (lrs.size() == 1) return {{"LR", lrs[0]}};
  NamedValues out;
  for (size_t i = 0; i < lrs.size(); ++i) {
    const std::string tag = "LR/" + (i < group_names.size() ? group_names[i] : std::to_string(i));
    auto same = std::find_if(out.begin(), out.end(), [&](const auto& entry) { return entry.first == tag; });
    if (same != out.end()) same->second = lrs[i];
    else out.emplace_back(tag, lrs[i]);
  }
  return out;
}

std::optional<double> EpochRow::value(const std::string& column) const {
  for (const auto& [name, v] : values)
    if (name == column) return v;
  return std::nullopt;
}

void MetricsTable::keep_up_to(int64_t epoch) {
  rows_.erase(std::remove_if(rows_.begin(), rows_.end(), [&](const EpochRow& row) { return row.epoch > epoch; }),
              rows_.end());
}

std::vector<std::string> MetricsTable::columns() const {
  std::vector<std::string> out;
  for (const EpochRow& row : rows_)
    for (const auto& [name, value] : row.values)
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) { return group_of(a) < group_of(b); });
  return out;
}

std::string MetricsTable::to_csv() const {
  const std::vector<std::string> names = columns();
  std::vector<std::string> header = {"epoch"};
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("epoch_seconds");
  header.push_back("elapsed_seconds");
  std::string out = csv_row(header);
  for (const EpochRow& row : rows_) {
    std::vector<std::string> fields = {std::to_string(row.epoch)};
    for (const std::string& name : names) {
      const std::optional<double> v = row.value(name);
      fields.push_back(v ? number_text(*v) : "");
    }
    fields.push_back(number_text(row.epoch_seconds));
    fields.push_back(number_text(row.elapsed_seconds));
    out += csv_row(fields);
  }
  return out;
}

MetricsTable MetricsTable::from_csv(const std::string& text) {
  const std::vector<std::vector<std::string>> rows = parse_csv(text);
  if (rows.empty()) throw std::runtime_error("line 1: no header");
  const std::vector<std::string>& header = rows[0];
  if (header.size() < 3 || header.front() != "epoch" || header[header.size() - 2] != "epoch_seconds" ||
      header.back() != "elapsed_seconds")
    throw std::runtime_error("line 1: not the header of metrics.csv");
  MetricsTable table;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& fields = rows[r];
    if (fields.size() != header.size())
      throw std::runtime_error("line " + std::to_string(r + 1) + ": " + std::to_string(fields.size()) + " fields, the header has " +
                               std::to_string(header.size()));
    EpochRow row;
    row.epoch = parse_count(fields.front(), r + 1);
    for (size_t c = 1; c + 2 < fields.size(); ++c)
      if (!fields[c].empty()) row.values.emplace_back(header[c], parse_number(fields[c], r + 1));
    row.epoch_seconds = parse_number(fields[fields.size() - 2], r + 1);
    row.elapsed_seconds = parse_number(fields.back(), r + 1);
    table.add(std::move(row));
  }
  return table;
}

const char* const kStepsHeader = "step,epoch,loss,lr\n";

std::string step_csv_line(const StepRow& row) {
  return csv_row({std::to_string(row.step), std::to_string(row.epoch), number_text(row.loss), number_text(row.lr)});
}

std::vector<StepRow> steps_from_csv(const std::string& text) {
  const std::vector<std::vector<std::string>> rows = parse_csv(text);
  if (rows.empty() || csv_row(rows[0]) != kStepsHeader) throw std::runtime_error("line 1: not the header of steps.csv");
  std::vector<StepRow> out;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& f = rows[r];
    if (f.size() != 4) throw std::runtime_error("line " + std::to_string(r + 1) + ": " + std::to_string(f.size()) + " fields, not 4");
    out.push_back({parse_count(f[0], r + 1), parse_count(f[1], r + 1), parse_number(f[2], r + 1), parse_number(f[3], r + 1)});
  }
  return out;
}

}  // namespace sg
