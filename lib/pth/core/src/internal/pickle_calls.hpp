#pragma once
// Argument checks shared by the allow-lists (torch.save pickles, dataset pickles): each
// refusal is a FormatError naming the callable ("torch.Size: argument is a dict, ...").
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pth/error.hpp"
#include "pth/value.hpp"

namespace pth::detail::pickle_calls {

constexpr size_t kMaxDims = 64;

std::string quoted_global(const std::string& module, const std::string& name);
std::string kind_word(const Value& v);
[[noreturn]] void bad_arg(const GlobalRef& fn, const std::string& what);
bool is_empty_dict(const Value& v);
// The items of `args` (a Tuple) when there are min_n..max_n of them.
const List& tuple_args(const GlobalRef& fn, const Value& args, size_t min_n, size_t max_n);
// A tuple of at most kMaxDims non-negative ints (a shape or strides).
std::vector<int64_t> int_tuple(const GlobalRef& fn, const char* what, const Value& v);
// REDUCE's checks, shared by the allow-lists: `callable` is a resolved global that `lookup`
// (module, name -> optional) knows, and `args` a tuple. Returns what `lookup` found.
template <class Lookup>
auto checked_call(const Value& callable, const Value& args, Lookup lookup) {
  if (callable.kind() != Value::Kind::Global)
    throw UnsafeError(std::string("refused call of a ") + kind_word(callable) + " (not a function)");
  const GlobalRef& fn = callable.as_global();
  const auto what = lookup(fn.module, fn.name);
  if (!what) throw UnsafeError("refused call of global " + quoted_global(fn.module, fn.name));
  if (args.kind() != Value::Kind::Tuple) throw FormatError("arguments of " + fn.module + "." + fn.name + " are not a tuple");
  return *what;
}

// _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes objects under Python 3.
Value codecs_encode(const GlobalRef& fn, const List& args);

}  // namespace pth::detail::pickle_calls
