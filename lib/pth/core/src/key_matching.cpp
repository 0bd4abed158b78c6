#include "pth/key_matching.hpp"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "pth/message.hpp"
#include "pth/sg_layout.hpp"

namespace pth {

std::string_view strict_mode_name(StrictMode m) {
  switch (m) {
    case StrictMode::On: return "on";
    case StrictMode::Off: return "off";
    case StrictMode::NoKeyMatching: return "no_key_matching";
    case StrictMode::KeyMatching: return "key_matching";
  }
  return "?";
}

std::optional<StrictMode> strict_mode_from_name(std::string_view name) {
  if (name == "on" || name == "true" || name == "True") return StrictMode::On;
  if (name == "off" || name == "false" || name == "False") return StrictMode::Off;
  if (name == "no_key_matching") return StrictMode::NoKeyMatching;
  if (name == "key_matching") return StrictMode::KeyMatching;
  return std::nullopt;
}

size_t MatchReport::renamed() const {
  size_t n = 0;
  for (const KeyPair& p : mapping) n += p.target != p.source;
  return n;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

std::string count_text(size_t n, const char* what) {
  return std::to_string(n) + " " + what;
}

// The by-name comparison (PyTorch's load_state_dict): fills mapping (equal shapes),
// missing, unexpected and mismatched.
void match_by_name(const std::vector<KeyEntry>& source, const std::vector<std::string>& source_names,
                   const std::vector<KeyEntry>& target, MatchReport& r) {
  std::unordered_map<std::string_view, size_t> by_name;
  by_name.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) by_name.emplace(source_names[i], i);
  std::vector<bool> used(source.size(), false);
  for (const KeyEntry& t : target) {
    auto it = by_name.find(t.name);
    if (it == by_name.end()) {
      r.missing.push_back(t.name);
      continue;
    }
    used[it->second] = true;
    const KeyEntry& s = source[it->second];
    if (s.shape == t.shape) r.mapping.push_back({t.name, s.name});
    else r.mismatched.push_back({t.name, s.name, t.shape, s.shape});
  }
  for (size_t i = 0; i < source.size(); ++i)
    if (!used[i]) r.unexpected.push_back(source[i].name);
}

std::string by_name_failure(const MatchReport& r) {
  std::string why;
  auto add = [&why](size_t n, const char* what) {
    if (n == 0) return;
    why += (why.empty() ? "" : ", ") + count_text(n, what);
  };
  add(r.missing.size(), "missing");
  add(r.unexpected.size(), "unexpected");
  add(r.mismatched.size(), r.mismatched.size() == 1 ? "shape mismatch" : "shape mismatches");
  return why;
}

// no_key_matching after the names failed: SG pairs source[i] with target[i] for i below
// the shorter length, each pair needing equal shapes.
void pair_by_position(const std::vector<KeyEntry>& source, const std::vector<KeyEntry>& target, MatchReport& r) {
  if (source.size() < target.size()) {
    r.ok = false;
    r.failure = "names differ (" + by_name_failure(r) + ") and pairing by position needs a source entry for every " +
                "target entry: source has " + std::to_string(source.size()) + " entries, target " +
                std::to_string(target.size());
    return;
  }
  std::vector<KeyPair> mapping;
  std::vector<ShapeMismatch> mismatched;
  for (size_t i = 0; i < target.size(); ++i) {
    if (source[i].shape == target[i].shape) mapping.push_back({target[i].name, source[i].name});
    else mismatched.push_back({target[i].name, source[i].name, target[i].shape, source[i].shape});
  }
  r.by_position = true;
  if (mismatched.empty()) {
    r.ok = true;
    r.missing.clear();
    r.unexpected.clear();
    r.mapping = std::move(mapping);
    r.mismatched.clear();
    for (size_t i = target.size(); i < source.size(); ++i) r.unexpected.push_back(source[i].name);
    if (!r.unexpected.empty())
      r.notes.push_back(count_text(r.unexpected.size(), "trailing source entries") +
                        " left out: pairing by position stops at the target's length, as SG's does");
    return;
  }
  r.ok = false;
  r.mapping.clear();
  r.mismatched = std::move(mismatched);
  const ShapeMismatch& m = r.mismatched.front();
  r.failure = "names differ and pairing by position fails: " +
              count_text(r.mismatched.size(), r.mismatched.size() == 1 ? "shape mismatch" : "shape mismatches") +
              ", first target " + pth::quoted(m.target) + " " + shape_text(m.target_shape) + " vs source " +
              pth::quoted(m.source) + " " + shape_text(m.source_shape);
}

}  // namespace

MatchReport match_keys(const std::vector<KeyEntry>& source, const std::vector<KeyEntry>& target, StrictMode mode) {
  MatchReport r;
  r.mode = mode;
  r.source_count = source.size();
  r.target_count = target.size();

  // DDP: every key under "module." -> matched without it.
  std::vector<std::string_view> source_names;
  source_names.reserve(source.size());
  for (const KeyEntry& s : source) source_names.push_back(s.name);
  const size_t prefix = ddp_prefix_length(source_names);
  std::vector<std::string> names;
  names.reserve(source.size());
  for (const KeyEntry& s : source) names.push_back(s.name.substr(prefix));
  if (prefix) r.stripped_prefix = std::string(kDdpPrefix);

  match_by_name(source, names, target, r);
  const bool strict_ok = r.missing.empty() && r.unexpected.empty() && r.mismatched.empty();

  switch (mode) {
    case StrictMode::On:
      r.ok = strict_ok;
      if (!r.ok) r.failure = "strict load (--strict on) fails: " + by_name_failure(r);
      break;
    case StrictMode::Off:
      r.ok = r.mismatched.empty();
      if (!r.ok) {
        r.failure = "a name matches with another shape (PyTorch refuses even with strict=False): " +
                    count_text(r.mismatched.size(), r.mismatched.size() == 1 ? "shape mismatch" : "shape mismatches");
      } else if (r.mapping.empty() && !target.empty()) {
        r.notes.push_back("no source name matches a target name: nothing is loaded");
      }
      break;
    case StrictMode::NoKeyMatching:
      if (strict_ok) r.ok = true;
      else pair_by_position(source, target, r);
      break;
    case StrictMode::KeyMatching:
      r.ok = true;
      if (!r.mismatched.empty())
        r.notes.push_back(count_text(r.mismatched.size(), "entries") +
                          " whose names match with another shape skipped, as SG's key_matching does");
      if (r.mapping.empty() && !target.empty()) r.notes.push_back("no source entry matches a target entry: nothing is loaded");
      break;
  }
  return r;
}

std::string match_report_to_text(const MatchReport& r) {
  std::string out = "key matching: --strict " + std::string(strict_mode_name(r.mode));
  out += r.by_position ? " (paired by position)" : " (by name)";
  out += ": " + std::to_string(r.mapping.size()) + " of " + std::to_string(r.target_count) + " target entries from " +
         std::to_string(r.source_count) + " source entries, " + std::to_string(r.renamed()) + " renamed\n";
  if (!r.stripped_prefix.empty()) out += "  source prefix " + pth::quoted(r.stripped_prefix) + " ignored (DDP)\n";
  out += "mapping (target <- source):\n";
  for (const KeyPair& p : r.mapping) {
    out += "  " + p.target;
    if (p.target != p.source) out += " <- " + p.source;
    out += "\n";
  }
  if (!r.missing.empty()) {
    out += "missing (in target, not in source): " + std::to_string(r.missing.size()) + "\n";
    for (const std::string& k : r.missing) out += "  " + k + "\n";
  }
  if (!r.unexpected.empty()) {
    out += "unexpected (in source, not in target): " + std::to_string(r.unexpected.size()) + "\n";
    for (const std::string& k : r.unexpected) out += "  " + k + "\n";
  }
  if (!r.mismatched.empty()) {
    out += "shape mismatches: " + std::to_string(r.mismatched.size()) + "\n";
    for (const ShapeMismatch& m : r.mismatched)
      out += "  target " + m.target + " " + shape_text(m.target_shape) + " vs source " + m.source + " " +
             shape_text(m.source_shape) + "\n";
  }
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  out += r.ok ? "result: ok\n" : "result: FAILED: " + r.failure + "\n";
  return out;
}

nlohmann::ordered_json match_report_to_json(const MatchReport& r) {
  using J = nlohmann::ordered_json;
  J mapping = J::array();
  for (const KeyPair& p : r.mapping) mapping.push_back({{"target", p.target}, {"source", p.source}});
  J mismatched = J::array();
  for (const ShapeMismatch& m : r.mismatched)
    mismatched.push_back({{"target", m.target}, {"target_shape", m.target_shape},
                          {"source", m.source}, {"source_shape", m.source_shape}});
  J doc = {{"mode", std::string(strict_mode_name(r.mode))},
           {"ok", r.ok},
           {"by_position", r.by_position},
           {"stripped_prefix", r.stripped_prefix.empty() ? J(nullptr) : J(r.stripped_prefix)},
           {"source_count", r.source_count},
           {"target_count", r.target_count},
           {"renamed", r.renamed()},
           {"mapping", mapping},
           {"missing", r.missing},
           {"unexpected", r.unexpected},
           {"mismatched", mismatched},
           {"notes", r.notes},
           {"failure", r.ok ? J(nullptr) : J(r.failure)}};
  return doc;
}

}  // namespace pth
