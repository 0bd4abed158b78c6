// sg-ckpt-adapt: convert checkpoints (key matching against a template, EMA extraction,
// dtype, key edits, averaging, safetensors). Never loads LibTorch.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/version.hpp"
#include "model_template.hpp"
#include "pth/adapt.hpp"
#include "pth/mapping_fault.hpp"
#include "pth/termination.hpp"
#include "remote/file_arguments.hpp"

namespace {

// The options with every remote file replaced by its local stand-in.
pth::AdaptOptions local_files(pth::AdaptOptions o, remote::FileArguments& files) {
  if (!o.input.empty()) o.input = files.readable(o.input);
  for (std::string& a : o.average) a = files.readable(a);
  if (!o.like.empty()) o.like = files.readable(o.like);
  o.output = files.writable(o.output);
  return o;
}

void show_given_names(pth::AdaptResult& r, const remote::FileArguments& files) {
  for (std::string* text : {&r.failure, &r.template_path, &r.output}) *text = files.shown(*text);
  for (std::string& text : r.inputs) text = files.shown(text);
  for (std::string& text : r.notes) text = files.shown(text);
}

}  // namespace

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-ckpt-adapt", common::kExitInputError);
  CLI::App app{"Convert PyTorch checkpoints: rename weights to a model's keys, take the EMA weights, change dtypes, "
               "edit keys, average checkpoints, write .pth or .safetensors. Without Python or LibTorch.",
               "sg-ckpt-adapt"};
  common::add_version_flag(app, common::without_libtorch);
  pth::AdaptOptions o;
  std::string strict = "no_key_matching", dtype, format;
  bool report = false, json = false;
  app.add_option("input", o.input, "Checkpoint or state dict to convert (.pth zip or legacy, or .safetensors); "
                                   "any file may be remote: name:path, s3://bucket/key, or https:// to read");
  app.add_option("-o,--output", o.output, "Output file (format from its extension unless --format); may be remote")->required();
  app.add_option("--format", format, "Output format")->check(CLI::IsMember({"pth", "safetensors"}));
  app.add_flag("--force", o.force, "Overwrite an existing OUT (or IN)");
  auto* like = app.add_option("--like", o.like, "Rename the weights to this template's keys (a checkpoint with net/ema_net, or a state dict)");
  auto* model = app.add_option("--model", o.model, "Rename the weights to this architecture's keys (needs sg-model-template)");
  like->excludes(model);
  app.add_option("--num-classes", o.num_classes, "Class count for --model (default 1000)")->needs(model);
  app.add_option("--strict", strict, "Key matching for --like/--model: on, off, no_key_matching (default), key_matching")
      ->check(CLI::IsMember({"on", "off", "no_key_matching", "key_matching"}));
  app.add_flag("--report", report, "Print the key mapping and every missing, unexpected and mismatched key");
  app.add_flag("--json", json, "Print one JSON document on stdout (the report and what was written)");
  auto* key = app.add_option("--key", o.key, "Take the weights at this key path (state_dict_ema, model, a/b); default: "
                                             "detected (SG net, timm state_dict, torchvision model, Lightning state_dict)");
  app.add_flag("--ema", o.ema, "Use the EMA weights (ema_net, state_dict_ema, model_ema) as net (error if absent)")->excludes(key);
  app.add_flag("--weights-only", o.weights_only, "Keep only the weights (no optimizer state, no other entries)");
  app.add_option("--dtype", dtype, "Convert floating weights (round to nearest even, as torch)")
      ->check(CLI::IsMember({"float16", "bfloat16", "float32"}));
  app.add_option("--strip-prefix", o.strip_prefix, "Remove this prefix from net keys that have it");
  app.add_option("--add-prefix", o.add_prefix, "Put this prefix before every net key");
  app.add_option("--rename", o.renames, "REGEX=REPLACEMENT on net keys (ECMAScript, $1 groups; split at the last '='); repeatable")
      ->allow_extra_args(false);
  app.add_option("--drop", o.drop, "Drop net keys matching REGEX (anywhere in the key); repeatable")
      ->allow_extra_args(false);
  app.add_option("--keep", o.keep, "Keep only net keys matching REGEX (any of them); repeatable")
      ->allow_extra_args(false);
  app.add_option("--average", o.average, "Average the net (or ema_net with --ema) of these files instead of IN")
      ->expected(2, -1);
  app.footer(
      "Order: --key/--ema/--weights-only or --average, then --strip-prefix, --rename, --drop, --keep, --add-prefix, then\n"
      "--like/--model matching, then --dtype, then writing (atomically).\n"
      "Exit status: 0 success, 1 the weights cannot be adapted under --strict, 2 usage error or unreadable input.");
  if (auto done = common::parse_command_line(app, argc, argv)) return *done;
  pth::end_cleanly_on_termination_signals();   // a stopped conversion leaves no temp file
  o.strict = *pth::strict_mode_from_name(strict);
  if (!dtype.empty()) o.dtype = pth::dtype_from_name(dtype);
  if (!format.empty()) o.format = format == "safetensors" ? pth::AdaptFormat::Safetensors : pth::AdaptFormat::Pth;
  if (!o.model.empty()) o.make_model_template = sg_ckpt_adapt::model_template_maker();

  remote::FileArguments files;
  pth::AdaptResult result;
  try {
    result = pth::adapt(local_files(o, files));
    if (result.written) files.publish();
  } catch (const std::exception& e) {
    common::print_error("sg-ckpt-adapt", files.shown(e.what()));
    return common::kExitInputError;
  }
  show_given_names(result, files);
  if (json) {
    std::cout << pth::adapt_result_to_json(result).dump(2) << "\n";
  } else if (report) {
    std::cout << pth::adapt_result_to_text(result);
  } else if (!result.ok) {
    std::cerr << pth::adapt_result_to_text(result);
  } else {
    if (!result.weights.description.empty()) std::cerr << "sg-ckpt-adapt: weights: " << result.weights.description << "\n";
    for (const std::string& n : result.notes) std::cerr << "sg-ckpt-adapt: note: " << n << "\n";
  }
  if (!result.ok) {
    common::print_error("sg-ckpt-adapt", result.failure);
    return common::kExitFailed;
  }
  return common::kExitOk;
}
