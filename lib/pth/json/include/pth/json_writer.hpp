#pragma once
// JSON text written as it is produced, for documents too large to build as a tree first
// (the description of 200k tensors). The text is byte for byte what nlohmann's
// dump(indent) makes of the same document, so a document written piece by piece, or as
// trees of nlohmann values nested in it, reads the same as one dumped whole.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pth {

class JsonWriter {
 public:
  using Json = nlohmann::ordered_json;

  // indent as dump(indent): -1 compact, otherwise pretty with that many spaces per level.
  // `replace_invalid_utf8`: text that is not UTF-8 is written with U+FFFD; otherwise it
  // throws nlohmann's type_error, as dump() does by default.
  explicit JsonWriter(int indent = -1, bool replace_invalid_utf8 = true);
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  void key(std::string_view name);        // in an object, before each value
  void value(std::string_view text);
  void value(const std::string& text) { value(std::string_view(text)); }
  void value(const char* text) { value(std::string_view(text)); }
  void value(int64_t number);
  void value(uint64_t number);
  void value(bool b);
  void value(const std::vector<int64_t>& numbers);   // as an array
  void value(const Json& v);              // floats, null, or a whole tree
  void raw_value(std::string_view json);  // a value already written as compact JSON text
  template <class T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }

  const std::string& text() const { return out_; }
  std::string take_text() { return std::move(out_); }   // the text, without a copy; the writer is done
  void reserve(size_t bytes) { out_.reserve(bytes); }   // for a text whose size is known roughly

 private:
  struct Level {
    bool object;
    size_t items;
  };
  void open(char bracket, bool object);
  void close(char bracket);
  void before_value();
  void newline_indent(size_t depth);
  void quoted(std::string_view text);
  template <class Number>
  void write_number(Number n);

  int indent_;
  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
  std::unique_ptr<nlohmann::detail::serializer<Json>> leaf_;   // writes into out_
};

// A JSON object holds each name once: where names repeat, assigning them in order keeps
// the first place and the last value. Returns the index of that value for each distinct
// name, in the order the names first appear.
std::vector<size_t> json_object_entries(const std::vector<std::string_view>& names);

}  // namespace pth
