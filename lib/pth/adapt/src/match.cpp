#include "match.hpp"

#include <string_view>
#include <unordered_map>

namespace pth::adapt_detail {
namespace {

// Renames (and orders) `w` as the template says; false when the match fails.
bool apply_match(Weights& w, const Weights& tmpl, StrictMode mode, MatchReport& report) {
  report = match_keys(key_entries(w), key_entries(tmpl), mode);
  if (!report.ok) return false;
  std::unordered_map<std::string_view, const Entry*> by_name;
  by_name.reserve(w.entries.size());
  for (const Entry& e : w.entries) by_name.emplace(e.name, &e);
  std::vector<Entry> out;
  out.reserve(report.mapping.size());
  for (const KeyPair& p : report.mapping) {
    const Entry* src = by_name.at(p.source);
    out.push_back({p.target, src->value, src->original});
  }
  w.entries = std::move(out);
  w.ordered = tmpl.ordered;
  w.metadata = tmpl.metadata;   // the model's _metadata (module versions) belongs to its names
  return true;
}

}  // namespace

bool match_template(Doc& doc, const Weights& tmpl, const AdaptOptions& o, AdaptResult& r) {
  MatchReport report;
  const bool ok = apply_match(doc.net, tmpl, o.strict, report);
  r.match = report;
  if (!ok) {
    r.failure = doc.path + ": cannot adapt " + (o.average.empty() ? doc.net.which : "the average") + " to " +
                r.template_path + ": " + report.failure;
    return false;
  }
  if (doc.ema) {
    MatchReport ema_report;
    const bool ema_ok = apply_match(*doc.ema, tmpl, o.strict, ema_report);
    r.ema_match = ema_report;
    if (!ema_ok) {
      r.failure = doc.path + ": cannot adapt ema_net to " + r.template_path + " (use --ema or --weights-only): " +
                  ema_report.failure;
      return false;
    }
  }
  return true;
}

}  // namespace pth::adapt_detail
