#include "pth/json_writer.hpp"

#include <charconv>
#include <unordered_map>

namespace pth {
namespace {

// Characters nlohmann writes as they are inside quotes (with ensure_ascii off).
bool plain_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace

JsonWriter::JsonWriter(int indent, bool replace_invalid_utf8)
    : indent_(indent),
      leaf_(std::make_unique<nlohmann::detail::serializer<Json>>(
          nlohmann::detail::output_adapter<char, std::string>(out_), ' ',
          replace_invalid_utf8 ? Json::error_handler_t::replace : Json::error_handler_t::strict)) {}

JsonWriter::~JsonWriter() = default;

void JsonWriter::newline_indent(size_t depth) {
  out_ += '\n';
  out_.append(depth * size_t(indent_), ' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (levels_.empty()) return;
  Level& level = levels_.back();
  if (level.items++) out_ += ',';
  if (indent_ >= 0) newline_indent(levels_.size());
}

void JsonWriter::open(char bracket, bool object) {
  before_value();
  out_ += bracket;
  levels_.push_back({object, 0});
}

void JsonWriter::close(char bracket) {
  const bool had_items = levels_.back().items != 0;
  levels_.pop_back();
  if (had_items && indent_ >= 0) newline_indent(levels_.size());
  out_ += bracket;
}

void JsonWriter::begin_object() { open('{', true); }
void JsonWriter::end_object() { close('}'); }
void JsonWriter::begin_array() { open('[', false); }
void JsonWriter::end_array() { close(']'); }

void JsonWriter::quoted(std::string_view text) {
  if (plain_ascii(text)) {
    out_ += '"';
    out_.append(text.data(), text.size());
    out_ += '"';
  } else {
    leaf_->dump(Json(text), false, false, 0);
  }
}

void JsonWriter::key(std::string_view name) {
  before_value();
  quoted(name);
  out_ += indent_ >= 0 ? ": " : ":";
  after_key_ = true;
}

void JsonWriter::value(std::string_view text) {
  before_value();
  quoted(text);
}

template <class Number>
void JsonWriter::write_number(Number n) {
  before_value();
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out_.append(digits, size_t(end - digits));
}

void JsonWriter::value(int64_t number) { write_number(number); }
void JsonWriter::value(uint64_t number) { write_number(number); }

void JsonWriter::value(bool b) {
  before_value();
  out_ += b ? "true" : "false";
}

void JsonWriter::value(const std::vector<int64_t>& numbers) {
  begin_array();
  for (int64_t n : numbers) value(n);
  end_array();
}

void JsonWriter::raw_value(std::string_view json) {
  before_value();
  out_.append(json.data(), json.size());
}

void JsonWriter::value(const Json& v) {
  before_value();
  const unsigned step = indent_ >= 0 ? unsigned(indent_) : 0;
  leaf_->dump(v, indent_ >= 0, false, step, unsigned(levels_.size()) * step);
}

std::vector<size_t> json_object_entries(const std::vector<std::string_view>& names) {
  std::vector<size_t> entries;
  entries.reserve(names.size());
  std::unordered_map<std::string_view, size_t> slot;
  slot.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    auto [it, added] = slot.emplace(names[i], entries.size());
    if (added) entries.push_back(i);
    else entries[it->second] = i;
  }
  return entries;
}

}  // namespace pth
