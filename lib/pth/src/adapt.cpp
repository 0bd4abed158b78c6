// sg-ckpt-adapt's pipeline: load, select (EMA, weights only), edit keys, match a
// template, convert dtypes, average, write (.pth or .safetensors).
#include "pth/adapt.hpp"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "adapt/data_error.hpp"
#include "adapt/key_edits.hpp"
#include "adapt/safetensors_key_edits.hpp"
#include "pth/checkpoint.hpp"
#include "pth/mapped_file.hpp"
#include "pth/message.hpp"
#include "pth/safetensors.hpp"

extern char** environ;

namespace pth {
namespace {

namespace fs = std::filesystem;
using namespace adapt_detail;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// --- loading -----------------------------------------------------------------------------

struct Loaded {
  std::string path;
  Value root;
  bool safetensors = false;
  StringPairs metadata;
  std::shared_ptr<const void> keep;   // the Checkpoint / SafetensorsFile behind the tensors
};

Loaded load_any(const std::string& path) {
  Loaded out;
  out.path = path;
  try {
    std::shared_ptr<const MappedFile> file = MappedFile::open(path);
    const ByteView v = file->view();
    if (reads_as_safetensors(path, v)) {
      auto st = std::make_shared<SafetensorsFile>(parse_safetensors(v, file));
      out.root = st->tensors;
      out.metadata = st->metadata;
      out.safetensors = true;
      out.keep = st;
      return out;
    }
    file.reset();
    auto ck = std::make_shared<Checkpoint>(read_checkpoint(path));
    out.root = ck->root;
    out.keep = ck;
  } catch (const AdaptError&) {
    throw;
  } catch (const std::exception& e) {
    throw AdaptError(path, e.what());
  }
  return out;
}

// --- state dicts as ordered entries ---------------------------------------------------

struct Entry {
  std::string name;
  Value value;
  std::string_view original;   // the name in the input (a key of its tree, kept by Doc::keep), for messages
};

struct Weights {
  std::string file;       // for messages
  std::string which;      // "net", "ema_net", "state dict"
  std::vector<Entry> entries;
  bool ordered = true;
  std::shared_ptr<Value> metadata;
};

Weights weights_of(const Value& v, const std::string& file, const std::string& which) {
  if (!v.is_dict()) throw AdaptError(file, pth::quoted(which) + " is a " + std::string(Value::kind_name(v.kind())) + ", not a state dict");
  Weights w;
  w.file = file;
  w.which = which;
  const Dict& d = v.as_dict();
  w.ordered = d.ordered;
  w.metadata = d.metadata;
  w.entries.reserve(d.items.size());
  for (const auto& [k, value] : d.items) {
    if (!k.is_string()) throw AdaptError(file, which + ": key " + pth::quoted(key_to_string(k)) + " is not a string");
    w.entries.push_back({k.as_string(), value, k.as_string()});
  }
  return w;
}

Value to_value(Weights w) {
  Value v = Value::dict(w.ordered);
  Dict& d = v.as_dict();
  d.metadata = w.metadata;
  d.items.reserve(w.entries.size());
  for (Entry& e : w.entries) d.items.emplace_back(Value::string(std::move(e.name)), std::move(e.value));
  return v;
}

std::string what_of(const Weights& w) { return w.which == "state dict" ? std::string() : w.which + ": "; }

std::vector<KeyEntry> key_entries(const Weights& w) {
  std::vector<KeyEntry> out;
  out.reserve(w.entries.size());
  for (const Entry& e : w.entries) {
    if (!e.value.is_tensor())
      throw AdaptError(w.file, what_of(w) + "entry " + pth::quoted(e.name) + " is a " +
                                   std::string(Value::kind_name(e.value.kind())) + ", not a tensor");
    const Tensor& t = *e.value.as_tensor();
    out.push_back({e.name, t.dtype, t.shape});
  }
  return out;
}

// --- what a file holds ------------------------------------------------------------------

struct Doc {
  std::string path;
  bool plain = true;          // the whole file is the state dict
  Value root;                 // the checkpoint dict (when !plain)
  Weights net;
  std::optional<Weights> ema; // ema_net, kept (and edited) alongside net
  bool safetensors = false;
  StringPairs metadata;
  std::shared_ptr<const void> keep;
};

Doc select(Loaded loaded, const AdaptOptions& o) {
  Doc doc;
  doc.path = loaded.path;
  doc.safetensors = loaded.safetensors;
  doc.metadata = std::move(loaded.metadata);
  doc.keep = std::move(loaded.keep);
  const Value& root = loaded.root;
  if (!root.is_dict())
    throw AdaptError(doc.path, "holds a " + std::string(Value::kind_name(root.kind())) + ", not a checkpoint or state dict");
  const Value* net = root.as_dict().find("net");
  const Value* ema = root.as_dict().find("ema_net");
  if (!net) {
    if (o.ema) throw AdaptError(doc.path, "is a plain state dict with no 'ema_net' (needed by --ema)");
    doc.net = weights_of(root, doc.path, "state dict");
    return doc;
  }
  doc.plain = false;
  doc.root = root;
  if (o.ema) {
    if (!ema || ema->is_none()) throw AdaptError(doc.path, "has no 'ema_net' (needed by --ema)");
    doc.net = weights_of(*ema, doc.path, "ema_net");
  } else {
    doc.net = weights_of(*net, doc.path, "net");
    if (ema && !ema->is_none() && !o.weights_only) doc.ema = weights_of(*ema, doc.path, "ema_net");
  }
  return doc;
}

// --- matching ---------------------------------------------------------------------------

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

// --- --model: a template made by sg-model-template ----------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "sg-ckpt-adapt.XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw AdaptError("", "cannot make a temporary folder for --model");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string make_model_template(const AdaptOptions& o, const TempDir& dir) {
  const std::string& program = o.model_template_program;
  if (program.empty() || ::access(program.c_str(), X_OK) != 0)
    throw AdaptError("", "--model needs sg-model-template (not built)");
  const std::string out = dir.path() + "/" + "template.pth";
  const std::string classes = std::to_string(o.num_classes);
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), const_cast<char*>(o.model.c_str()),
                             const_cast<char*>(classes.c_str()), const_cast<char*>(out.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);   // its stdout goes to our stderr
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw AdaptError(program, std::string("cannot run: ") + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw AdaptError(program, "cannot wait for it");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw AdaptError(program, "failed for --model " + pth::quoted(o.model) + " (" +
                                  (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                     : "signal " + std::to_string(WTERMSIG(status))) + ")");
  return out;
}

// --- averaging --------------------------------------------------------------------------

Doc average_docs(const AdaptOptions& o) {
  if (o.average.size() < 2) throw AdaptError("", "--average needs at least two files");
  std::vector<Doc> docs;
  for (const std::string& path : o.average) {
    AdaptOptions sel = o;
    sel.weights_only = true;
    docs.push_back(select(load_any(path), sel));
  }
  const Doc& first = docs.front();
  std::vector<std::unordered_map<std::string_view, const Entry*>> maps;
  for (const Doc& d : docs) {
    std::unordered_map<std::string_view, const Entry*> m;
    m.reserve(d.net.entries.size());
    for (const Entry& e : d.net.entries) m.emplace(e.name, &e);
    maps.push_back(std::move(m));
  }
  for (size_t i = 1; i < docs.size(); ++i) {
    if (docs[i].net.entries.size() != first.net.entries.size() || [&] {
          for (const Entry& e : first.net.entries)
            if (!maps[i].count(e.name)) return true;
          return false;
        }()) {
      for (const Entry& e : first.net.entries)
        if (!maps[i].count(e.name))
          throw AdaptError(docs[i].path, what_of(docs[i].net) + "has no key " + pth::quoted(e.name) + " (" + first.path + " has)");
      for (const Entry& e : docs[i].net.entries)
        if (!maps[0].count(e.name))
          throw AdaptError(docs[i].path, what_of(docs[i].net) + "key " + pth::quoted(e.name) + " is not in " + first.path);
    }
  }
  Doc out;
  out.path = first.path;
  out.plain = false;
  out.root = Value::dict();
  out.net = first.net;
  out.net.metadata = first.net.metadata;
  std::vector<std::shared_ptr<const void>> keeps;
  for (Entry& e : out.net.entries) {
    if (!e.value.is_tensor()) continue;   // kept as in the first file
    const Tensor& t0 = *e.value.as_tensor();
    std::vector<std::shared_ptr<Tensor>> tensors;
    for (size_t i = 0; i < docs.size(); ++i) {
      const Value& v = maps[i].at(e.name)->value;
      if (!v.is_tensor())
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " is a " +
                                           std::string(Value::kind_name(v.kind())) + ", " + first.path + " has a tensor");
      const Tensor& t = *v.as_tensor();
      if (t.dtype != t0.dtype)
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " is " + std::string(dtype_name(t.dtype)) +
                                           ", " + first.path + " has " + std::string(dtype_name(t0.dtype)));
      if (t.shape != t0.shape)
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " has shape " + shape_text(t.shape) + ", " +
                                           first.path + " has " + shape_text(t0.shape));
      tensors.push_back(v.as_tensor());
    }
    if (!dtype_is_floating(t0.dtype)) continue;   // integer entries (num_batches_tracked) as in the first
    try {
      e.value = Value::tensor(average_tensors(tensors));
    } catch (const std::exception& ex) {
      throw data_error(first.path, what_of(first.net) + pth::quoted(e.name) + ": ", ex);
    }
  }
  for (const Doc& d : docs) keeps.push_back(d.keep);
  out.keep = std::make_shared<std::vector<std::shared_ptr<const void>>>(std::move(keeps));
  return out;
}

// --- --dtype ----------------------------------------------------------------------------

// Converts every floating tensor of net and ema_net, biggest first, on a few threads.
void convert_weights(Doc& doc, DType to, AdaptResult& r) {
  struct Job {
    Entry* entry;
    const Weights* weights;
  };
  std::vector<Job> jobs;
  auto collect = [&](Weights& w) {
    for (Entry& e : w.entries) {
      if (!e.value.is_tensor()) continue;
      const DType d = e.value.as_tensor()->dtype;
      if (dtype_is_floating(d) && d != to) jobs.push_back({&e, &w});
    }
  };
  collect(doc.net);
  if (doc.ema) collect(*doc.ema);
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return a.entry->value.as_tensor()->nbytes() > b.entry->value.as_tensor()->nbytes();
  });
  std::atomic<size_t> next{0};
  std::mutex failed_mutex;
  std::optional<AdaptError> failed;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      Entry& e = *jobs[i].entry;
      try {
        e.value = Value::tensor(convert_tensor(e.value.as_tensor(), to));
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> lock(failed_mutex);
        if (!failed) failed = data_error(jobs[i].weights->file, what_of(*jobs[i].weights) + pth::quoted(e.name) + ": ", ex);
        next = jobs.size();
      }
    }
  };
  const size_t threads = std::min<size_t>(jobs.size(), std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) throw *failed;
  r.converted = jobs.size();
}

// --- output -----------------------------------------------------------------------------

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Python's str() of a float: the shortest text that reads back the same.
std::string python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[40];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::optional<std::string> scalar_text(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Bool: return std::string(v.as_bool() ? "True" : "False");
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::BigInt: return v.as_string();
    case Value::Kind::Float: return python_float(v.as_number());
    case Value::Kind::String: return v.as_string();
    default: return std::nullopt;
  }
}

// Takes `doc` to move its names into what is written.
void write_output(const AdaptOptions& o, Doc doc, AdaptResult& r) {
  if (r.format == AdaptFormat::Safetensors) {
    std::vector<NamedTensor> tensors;
    tensors.reserve(doc.net.entries.size());
    for (Entry& e : doc.net.entries) {
      if (!e.value.is_tensor())
        throw AdaptError(doc.path, what_of(doc.net) + "entry " + pth::quoted(e.name) + " is a " +
                                       std::string(Value::kind_name(e.value.kind())) + "; safetensors holds only tensors");
      tensors.push_back({std::move(e.name), e.value.as_tensor()});
    }
    StringPairs metadata;
    if (doc.plain) {
      metadata = doc.safetensors ? doc.metadata : StringPairs{{"format", "pt"}};
    } else {
      std::vector<std::string> left_out;
      bool has_format = false;
      for (const auto& [k, v] : doc.root.as_dict().items) {
        if (!k.is_string()) continue;
        const std::string& key = k.as_string();
        if (key == "net" || key == "ema_net") {
          if (key == "ema_net" && !v.is_none() && !o.ema) left_out.push_back(key);
          continue;
        }
        if (auto text = scalar_text(v)) {
          metadata.emplace_back(key, *text);
          has_format = has_format || key == "format";
        } else if (!v.is_none()) {
          left_out.push_back(key);
        }
      }
      if (!has_format) metadata.insert(metadata.begin(), {"format", "pt"});
      if (!left_out.empty()) {
        std::string list;
        for (const std::string& k : left_out) list += (list.empty() ? "" : ", ") + k;
        r.notes.push_back("safetensors holds net's tensors and scalar keys only; left out: " + list);
      }
    }
    try {
      write_safetensors(o.output, tensors, metadata, /*replace=*/o.force);
    } catch (const std::exception& e) {
      throw data_error(o.output, "", e);
    }
  } else {
    Value root;
    if (doc.plain) {
      root = to_value(std::move(doc.net));
    } else {
      root = Value::dict(doc.root.as_dict().ordered);
      Dict& out = root.as_dict();
      bool net_written = false;
      for (const auto& [k, v] : doc.root.as_dict().items) {
        if (k.is_string() && k.as_string() == "net") {
          out.items.emplace_back(k, to_value(std::move(doc.net)));
          net_written = true;
        } else if (k.is_string() && k.as_string() == "ema_net") {
          if (o.ema || o.weights_only) continue;   // promoted to net, or not wanted
          out.items.emplace_back(k, doc.ema ? to_value(std::move(*doc.ema)) : v);
        } else if (!o.weights_only) {
          out.items.emplace_back(k, v);
        }
      }
      if (!net_written) out.items.insert(out.items.begin(), {Value::string("net"), to_value(std::move(doc.net))});
    }
    try {
      WriteOptions options;
      options.replace = o.force;   // without --force a file that appeared meanwhile stays
      write_checkpoint(o.output, root, options);
    } catch (const std::exception& e) {
      throw data_error(o.output, "", e);
    }
  }
  r.written = true;
}

}  // namespace

AdaptFormat adapt_format_for_path(const std::string& path) {
  return ends_with(path, ".safetensors") ? AdaptFormat::Safetensors : AdaptFormat::Pth;
}

AdaptResult adapt(const AdaptOptions& o) {
  AdaptResult r;
  // Options first: nothing is read before they make sense.
  if (o.output.empty()) throw AdaptError("", "no output file (-o OUT)");
  if (o.input.empty() == o.average.empty())
    throw AdaptError("", o.input.empty() ? "no input file (IN, or --average A B ...)" : "give either IN or --average A B ..., not both");
  if (!o.like.empty() && !o.model.empty()) throw AdaptError("", "give either --like or --model, not both");
  if (o.dtype && !dtype_is_floating(*o.dtype))
    throw AdaptError("", "--dtype " + std::string(dtype_name(*o.dtype)) + ": not a floating dtype");
  const Edits edits = compile_edits(o);
  r.format = o.format == AdaptFormat::Auto ? adapt_format_for_path(o.output) : o.format;
  r.output = o.output;
  r.inputs = o.average.empty() ? std::vector<std::string>{o.input} : o.average;

  std::vector<std::string> read_files = r.inputs;
  if (!o.like.empty()) read_files.push_back(o.like);
  for (const std::string& in : read_files)
    if (same_file(in, o.output) && !o.force)
      throw AdaptError(o.output, "is an input file; refusing to overwrite it without --force");
  struct stat st;
  if (::stat(o.output.c_str(), &st) == 0 && !o.force)
    throw AdaptError(o.output, "exists; refusing to overwrite it without --force");

  std::optional<TempDir> model_dir;
  std::string template_path = o.like;
  if (!o.model.empty()) {
    if (o.num_classes <= 0) throw AdaptError("", "--num-classes must be positive");
    model_dir.emplace();
    template_path = make_model_template(o, *model_dir);
  }
  r.template_path = o.model.empty() ? o.like : "sg-model-template " + o.model + " " + std::to_string(o.num_classes);

  // Safetensors in and out with only key edits: the header is edited, no tensor is built.
  const bool keys_only = o.average.empty() && template_path.empty() && !o.dtype && !o.ema && r.format == AdaptFormat::Safetensors;
  if (keys_only && adapt_safetensors_keys(o, edits, r)) return r;

  Doc doc = o.average.empty() ? select(load_any(o.input), o) : average_docs(o);

  apply_edits(doc.net.entries, edits, doc.net.file, what_of(doc.net));
  if (doc.ema) apply_edits(doc.ema->entries, edits, doc.ema->file, what_of(*doc.ema));

  if (!template_path.empty()) {
    Loaded t = load_any(template_path);
    Weights tmpl;
    {
      if (!t.root.is_dict()) throw AdaptError(template_path, "holds a " + std::string(Value::kind_name(t.root.kind())) +
                                                                 ", not a checkpoint or state dict");
      const Value* net = t.root.as_dict().find("net");
      if (!net) net = t.root.as_dict().find("ema_net");
      tmpl = net ? weights_of(*net, template_path, net == t.root.as_dict().find("net") ? "net" : "ema_net")
                 : weights_of(t.root, template_path, "state dict");
    }
    MatchReport report;
    const bool ok = apply_match(doc.net, tmpl, o.strict, report);
    r.match = report;
    if (!ok) {
      r.failure = doc.path + ": cannot adapt " + (o.average.empty() ? doc.net.which : "the average") + " to " +
                  r.template_path + ": " + report.failure;
      return r;
    }
    if (doc.ema) {
      MatchReport ema_report;
      const bool ema_ok = apply_match(*doc.ema, tmpl, o.strict, ema_report);
      r.ema_match = ema_report;
      if (!ema_ok) {
        r.failure = doc.path + ": cannot adapt ema_net to " + r.template_path + " (use --ema or --weights-only): " +
                    ema_report.failure;
        return r;
      }
    }
  }

  if (o.dtype) convert_weights(doc, *o.dtype, r);

  for (const Entry& e : doc.net.entries) {
    if (!e.value.is_tensor()) continue;
    ++r.tensors;
    r.tensor_bytes += e.value.as_tensor()->nbytes();
  }
  write_output(o, std::move(doc), r);
  r.ok = true;
  return r;
}

nlohmann::ordered_json adapt_result_to_json(const AdaptResult& r) {
  using J = nlohmann::ordered_json;
  J doc = {{"ok", r.ok},
           {"inputs", r.inputs},
           {"template", r.template_path.empty() ? J(nullptr) : J(r.template_path)},
           {"output", r.output},
           {"format", r.format == AdaptFormat::Safetensors ? "safetensors" : "pth"},
           {"written", r.written},
           {"tensors", r.tensors},
           {"tensor_bytes", r.tensor_bytes},
           {"converted", r.converted},
           {"match", r.match ? match_report_to_json(*r.match) : J(nullptr)}};
  if (r.ema_match) doc["ema_match"] = match_report_to_json(*r.ema_match);
  doc["notes"] = r.notes;
  doc["failure"] = r.ok ? J(nullptr) : J(r.failure);
  return doc;
}

std::string adapt_result_to_text(const AdaptResult& r) {
  std::string out;
  if (r.match) out += match_report_to_text(*r.match);
  if (r.ema_match && !r.ema_match->ok) out += "ema_net:\n" + match_report_to_text(*r.ema_match);
  for (const std::string& n : r.notes) out += "note: " + n + "\n";
  if (r.written) {
    out += "wrote " + r.output + " (" + (r.format == AdaptFormat::Safetensors ? "safetensors" : "pth") + ", " +
           std::to_string(r.tensors) + " tensors, " + std::to_string(r.tensor_bytes) + " bytes";
    if (r.converted) out += ", " + std::to_string(r.converted) + " converted";
    out += ")\n";
  }
  return out;
}

}  // namespace pth
