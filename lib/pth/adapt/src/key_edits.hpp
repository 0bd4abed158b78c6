#pragma once
// sg-ckpt-adapt's key edits (--strip-prefix, --rename, --drop, --keep, --add-prefix), over
// the entries of a state dict tree or of a safetensors header alike.
#include <algorithm>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal/first_repeat.hpp"
#include "pth/adapt.hpp"
#include "pth/message.hpp"

namespace pth::adapt_detail {

struct Rename {
  std::string text;
  std::regex pattern;
  std::string replacement;
};

struct Edits {
  std::string strip_prefix, add_prefix;
  std::vector<Rename> renames;
  std::vector<std::regex> drop, keep;

  // The readers give unique keys (pickle dicts keep one item a key, safetensors refuses
  // repeats), and dropping, keeping and one prefix for all keep them unique.
  bool can_repeat() const { return !strip_prefix.empty() || !renames.empty(); }
};

// Throws AdaptError for a malformed --rename or an invalid regex.
Edits compile_edits(const AdaptOptions& o);

bool any_search(const std::vector<std::regex>& patterns, const std::string& s);

// `E` has `std::string name` (edited) and `std::string_view original` (the name in the
// input, for messages). `what` prefixes messages about `file` ("net: ", or "").
template <class E>
void refuse_repeated_names(const std::vector<E>& entries, const std::string& file, const std::string& what) {
  std::vector<std::string_view> names;
  names.reserve(entries.size());
  for (const E& x : entries) names.push_back(x.name);
  if (const size_t repeat = detail::first_repeat(names); repeat != detail::kNoRepeat) {
    const E& x = entries[repeat];
    const E& earlier = *std::find_if(entries.begin(), entries.end(), [&](const E& e) { return e.name == x.name; });
    throw AdaptError(file, what + "key edits give " + pth::quoted(earlier.original) + " and " + pth::quoted(x.original) +
                               " the same name " + pth::quoted(x.name));
  }
}

// Order: --strip-prefix, --rename (as given), --drop, --keep, --add-prefix. Throws
// AdaptError when nothing matches --strip-prefix, two entries end with one name, or none
// is left.
template <class E>
void apply_edits(std::vector<E>& entries, const Edits& e, const std::string& file, const std::string& what) {
  if (!e.strip_prefix.empty()) {
    size_t n = 0;
    for (E& x : entries) {
      if (x.name.compare(0, e.strip_prefix.size(), e.strip_prefix) == 0) {
        x.name.erase(0, e.strip_prefix.size());
        ++n;
      }
    }
    if (n == 0) throw AdaptError(file, what + "no key starts with --strip-prefix " + pth::quoted(e.strip_prefix));
  }
  for (const Rename& r : e.renames) {
    for (E& x : entries) x.name = std::regex_replace(x.name, r.pattern, r.replacement);
  }
  if (!e.drop.empty() || !e.keep.empty()) {
    std::vector<E> kept;
    for (E& x : entries) {
      if (any_search(e.drop, x.name)) continue;
      if (!e.keep.empty() && !any_search(e.keep, x.name)) continue;
      kept.push_back(std::move(x));
    }
    entries = std::move(kept);
  }
  if (!e.add_prefix.empty()) {
    for (E& x : entries) x.name.insert(0, e.add_prefix);
  }
  if (e.can_repeat()) refuse_repeated_names(entries, file, what);
  if (entries.empty()) throw AdaptError(file, what + "no entries left after the key edits");
}

}  // namespace pth::adapt_detail
