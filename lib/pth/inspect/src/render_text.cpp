#include <cstdio>
#include <sstream>

#include "pth/inspect.hpp"
#include "pth/message.hpp"
#include "pth/tensor_walk.hpp"

namespace pth::inspect {
namespace {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// One line of JSON, shortened for a terminal.
std::string scalar_text(const Value& v) {
  std::string s = json_text(value_to_json(v));
  if (s.size() > 100) s = s.substr(0, 97) + "...";
  return s;
}

// "n/a" where there is no finite element (null in JSON).
std::string stat_text(const std::optional<double>& d) {
  if (!d) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *d);
  return buf;
}

std::string stats_text(const TensorStats& s) {
  return "min " + stat_text(s.min) + " max " + stat_text(s.max) + " mean " + stat_text(s.mean) + " nan " +
         std::to_string(s.nan) + " inf " + std::to_string(s.inf);
}

// "lr 0.1, momentum 0.9, ..., params 62": the parameter indices as their count.
std::string param_group_text(const Value& group) {
  if (!group.is_dict()) return scalar_text(group);
  std::string out;
  for (const auto& [k, v] : group.as_dict().items) {
    const std::string name = key_to_string(k);
    out += (out.empty() ? "" : ", ") + printable(name) + " ";
    out += name == "params" && v.is_sequence() ? std::to_string(v.items().size()) : scalar_text(v);
  }
  return out;
}

}  // namespace

std::string report_to_text(const Report& r, const Options& options, bool list_tensors) {
  const Checkpoint& c = r.checkpoint;
  std::ostringstream out;
  out << c.path << ": " << format_name(c.format);
  if (c.format == CheckpointFormat::Zip) out << " (root '" << c.root_name << "', version " << c.version << ")";
  out << ", " << r.keys.size() << " keys, " << r.tensors.size() << " tensors\n";

  size_t width = 0;
  for (const auto& [key, value] : r.scalars) width = std::max(width, key.size());
  for (const Group& g : r.groups) width = std::max(width, g.name.size());
  for (const auto& [key, value] : r.scalars)
    out << "  " << printable(key) << std::string(width - key.size() + 2, ' ') << scalar_text(value) << "\n";
  for (const Group& g : r.groups) {
    out << "  " << printable(g.name) << std::string(width - g.name.size() + 2, ' ') << g.tensors << " tensors, " << g.parameters
        << " elements, " << human_bytes(g.bytes) << ",";
    for (const auto& [dtype, count] : g.dtypes) out << " " << dtype << " x" << count;
    out << "\n";
  }
  for (const OptimizerReport& o : r.optimizers) {
    const List& groups = o.param_groups.items();
    for (size_t i = 0; i < groups.size(); ++i)
      out << "  " << printable(join_path(o.path, "param_groups/" + std::to_string(i))) << "  " << param_group_text(groups[i]) << "\n";
  }
  if (list_tensors || options.hash || options.stats) {
    for (const TensorReport& t : r.tensors) {
      out << "    " << printable(t.path, t.path.size()) << "  " << dtype_name(t.tensor->dtype) << "  " << shape_text(t.tensor->shape) << "  "
          << t.tensor->nbytes();
      if (options.hash) out << "  " << t.sha256;
      if (t.stats) out << "  " << stats_text(*t.stats);
      out << "\n";
    }
  }
  if (options.verify) {
    out << "  verify: " << (r.problems.empty() ? "OK" : "FAILED") << "\n";
    for (const std::string& p : r.problems) out << "    " << p << "\n";
  }
  return out.str();
}

std::string diff_to_text(const Diff& d) {
  std::ostringstream out;
  if (d.identical()) {
    out << "identical: " << d.a_path << " and " << d.b_path << "\n";
    return out.str();
  }
  out << "--- " << d.a_path << "\n+++ " << d.b_path << "\n";
  for (const auto& p : d.removed) out << "removed  " << printable(p, p.size()) << "\n";
  for (const auto& p : d.added) out << "added    " << printable(p, p.size()) << "\n";
  for (const auto& c : d.changed)
    out << "changed  " << printable(c.path, c.path.size()) << "  " << dtype_name(c.a->dtype) << shape_text(c.a->shape) << " -> "
        << dtype_name(c.b->dtype) << shape_text(c.b->shape) << "\n";
  for (const auto& c : d.value_changed) out << "values   " << printable(c.path, c.path.size()) << "  max |a-b| = " << c.max_abs_diff << "\n";
  for (const auto& c : d.scalars_changed)
    out << "scalar   " << printable(c.path, c.path.size()) << "  " << (c.a ? json_text(*c.a) : "(absent)") << " -> " << (c.b ? json_text(*c.b) : "(absent)")
        << "\n";
  return out.str();
}

}  // namespace pth::inspect
