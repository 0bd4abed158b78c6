// sg-ckpt-adapt's pipeline: load, select (--key or the layout's, EMA, weights only), edit keys, match a
// template, convert dtypes, average, write (.pth or .safetensors).
#include "pth/adapt.hpp"

#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "average.hpp"
#include "convert_weights.hpp"
#include "key_edits.hpp"
#include "load.hpp"
#include "match.hpp"
#include "pth/checkpoint_weights.hpp"
#include "safetensors_key_edits.hpp"
#include "select.hpp"
#include "template_folder.hpp"
#include "write_output.hpp"

namespace pth {
namespace {

using namespace adapt_detail;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
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
  if (!o.key.empty() && o.ema) throw AdaptError("", "give either --key or --ema, not both");
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

  std::optional<TemporaryFolder> model_dir;
  std::string template_path = o.like;
  if (!o.model.empty()) {
    if (o.num_classes <= 0) throw AdaptError("", "--num-classes must be positive");
    model_dir.emplace("sg-ckpt-adapt.");
    template_path = make_model_template(o, *model_dir);
  }
  r.template_path = o.model.empty() ? o.like : "sg-model-template " + o.model + " " + std::to_string(o.num_classes);

  // Safetensors in and out with only key edits: the header is edited, no tensor is built.
  const bool keys_only = o.average.empty() && template_path.empty() && !o.dtype && !o.ema && o.key.empty() &&
                         r.format == AdaptFormat::Safetensors;
  if (keys_only) r.weights = {"", weights_layouts::kStateDict, false, "", "the whole file (state_dict layout)"};
  if (keys_only && adapt_safetensors_keys(o, edits, r)) return r;

  Doc doc = o.average.empty() ? select_input(load_any(o.input), o) : average_docs(o);
  r.weights = doc.source;
  r.notes.insert(r.notes.end(), doc.notes.begin(), doc.notes.end());

  apply_edits(doc.net.entries, edits, doc.net.file, what_of(doc.net));
  if (doc.ema) apply_edits(doc.ema->entries, edits, doc.ema->file, what_of(*doc.ema));

  if (!template_path.empty() && !match_template(doc, template_weights(load_any(template_path)), o, r)) return r;

  if (o.dtype) convert_weights(doc, *o.dtype, r);

  for (const Entry& e : doc.net.entries) {
    if (!e.value.is_tensor()) continue;
    ++r.tensors;
    r.tensor_bytes += e.value.as_tensor()->nbytes();
  }
  AdaptOptions written = o;   // --key ema_net promotes ema_net to net as --ema does
  written.ema = o.ema || (doc.source.layout == weights_layouts::kSg && doc.source.ema);
  write_output(written, std::move(doc), r);
  r.ok = true;
  return r;
}

}  // namespace pth
