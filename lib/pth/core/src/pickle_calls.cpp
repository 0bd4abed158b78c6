#include "internal/pickle_calls.hpp"

#include <optional>

#include "pth/error.hpp"
#include "pth/message.hpp"
#include "pth/utf8.hpp"

namespace pth::detail::pickle_calls {

std::string quoted_global(const std::string& module, const std::string& name) {
  return "'" + printable(module) + "." + printable(name) + "'";
}

std::string kind_word(const Value& v) {
  if (v.is_dict() && v.as_dict().ordered) return "OrderedDict";
  return std::string(Value::kind_name(v.kind()));
}

[[noreturn]] void bad_arg(const GlobalRef& fn, const std::string& what) {
  throw FormatError(fn.module + "." + fn.name + ": " + what);
}

bool is_empty_dict(const Value& v) { return v.is_dict() && v.as_dict().items.empty(); }

const List& tuple_args(const GlobalRef& fn, const Value& args, size_t min_n, size_t max_n) {
  const List& a = args.items();
  if (a.size() < min_n || a.size() > max_n) {
    std::string expect = min_n == max_n ? std::to_string(min_n) : std::to_string(min_n) + " or " + std::to_string(max_n);
    bad_arg(fn, "expected " + expect + " arguments, got " + std::to_string(a.size()));
  }
  return a;
}

std::vector<int64_t> int_tuple(const GlobalRef& fn, const char* what, const Value& v) {
  if (v.kind() != Value::Kind::Tuple) bad_arg(fn, std::string(what) + " is a " + kind_word(v) + ", not a tuple");
  const List& items = v.items();
  if (items.size() > kMaxDims)
    bad_arg(fn, std::string(what) + " has " + std::to_string(items.size()) + " dimensions (limit " +
                    std::to_string(kMaxDims) + ")");
  std::vector<int64_t> out;
  out.reserve(items.size());
  for (const Value& x : items) {
    if (!x.is_int()) bad_arg(fn, std::string(what) + " holds a " + kind_word(x) + ", not an int");
    int64_t i = x.as_int();
    if (i < 0) bad_arg(fn, std::string(what) + " holds a negative value " + std::to_string(i));
    out.push_back(i);
  }
  return out;
}

Value codecs_encode(const GlobalRef& fn, const List& a) {
  if (a.size() != 2) bad_arg(fn, "expected 2 arguments, got " + std::to_string(a.size()));
  if (!a[0].is_string() || !a[1].is_string()) bad_arg(fn, "arguments are not strings");
  const std::string& enc = a[1].as_string();
  if (enc != "latin1" && enc != "latin-1") bad_arg(fn, "encoding " + quoted(enc) + " is not supported");
  // The text is valid UTF-8 (the pickle reader checks every str).
  std::optional<std::string> bytes = latin1_from_utf8(a[0].as_string());
  if (!bytes) bad_arg(fn, "text holds a character outside latin-1");
  return Value::bytes(std::move(*bytes));
}

}  // namespace pth::detail::pickle_calls
