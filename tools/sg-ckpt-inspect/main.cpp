// sg-ckpt-inspect: describe, hash, verify and diff PyTorch checkpoint files.
// Never loads LibTorch; reading a file never runs anything it names.
#include <iostream>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/version.hpp"
#include "pth/error.hpp"
#include "pth/inspect.hpp"
#include "pth/json_conventions.hpp"
#include "pth/mapping_fault.hpp"
#include "remote/file_arguments.hpp"

namespace {

using common::kExitFailed, common::kExitInputError, common::kExitOk;

void report_error(const std::string& path, const std::string& why) { common::print_error("sg-ckpt-inspect", path + ": " + why); }

int run_diff(const std::vector<std::string>& files, bool json) {
  remote::FileArguments remote;
  pth::Checkpoint a, b;
  for (size_t i = 0; i < 2; ++i) {
    try {
      pth::Checkpoint& c = i ? b : a;
      c = pth::read_checkpoint(remote.readable(files[i]));
      c.path = files[i];
    } catch (const std::exception& e) {
      report_error(files[i], remote.shown(e.what()));
      return kExitInputError;
    }
  }
  try {
    const pth::inspect::Diff d = pth::inspect::diff(a, b);
    if (json) {
      pth::JsonWriter out(2);
      pth::inspect::write_diff_json(out, d);
      std::cout << out.text() << "\n";
    } else {
      std::cout << pth::inspect::diff_to_text(d);
    }
    return d.identical() ? kExitOk : kExitFailed;
  } catch (const pth::FileDataError& e) {
    report_error(remote.shown(e.file()), remote.shown(e.what()));
    return kExitInputError;
  } catch (const std::exception& e) {
    report_error(files[0] + " vs " + files[1], remote.shown(e.what()));
    return kExitInputError;
  }
}

}  // namespace

int main(int argc, char** argv) {
  pth::install_mapping_fault_handler("sg-ckpt-inspect", kExitInputError);
  CLI::App app{"Describe, hash, verify and diff PyTorch checkpoint (.pth) files, without Python or LibTorch.",
               "sg-ckpt-inspect"};
  common::add_version_flag(app, common::without_libtorch);
  std::vector<std::string> files;
  pth::inspect::Options options;
  bool json = false, tensors = false, diff = false;
  app.add_option("files", files, "Checkpoint files (torch.save zip or legacy format); a file may be remote: name:path, s3://bucket/key or https://")->required();
  app.add_flag("--json", json, "Print one JSON document on stdout");
  app.add_flag("--tensors", tensors, "One line per tensor: path, dtype, shape, bytes");
  app.add_flag("--hash", options.hash, "Add the SHA-256 of every tensor's elements (reads the data)");
  app.add_flag("--stats", options.stats, "Add min, max, mean and NaN/Inf counts of floating tensors");
  app.add_flag("--verify", options.verify, "Check CRCs and every structural rule; exit 1 if any fails");
  app.add_flag("--diff", diff, "Compare two files (A B): tensors added, removed, changed; exit 1 if they differ");
  app.footer("Exit status: 0 success, 1 verification failed or files differ, 2 usage error or unreadable file.");
  try {
    app.parse(argc, argv);
    if (diff && files.size() != 2) throw CLI::ValidationError("--diff", "needs exactly two files, A and B");
  } catch (const CLI::ParseError& e) {
    return common::exit_for_parse_error(app, e);
  }
  if (diff) return run_diff(files, json);

  int status = kExitOk;
  pth::JsonWriter documents(2);   // {"schema_version": 1, "files": [one object per file]}
  documents.begin_object();
  documents.field("schema_version", int64_t(pth::kJsonSchemaVersion));
  documents.key("files");
  documents.begin_array();
  for (const std::string& path : files) {
    remote::FileArguments remote;   // one file at a time: a downloaded copy goes before the next
    try {
      // Hashes, statistics and verification read every record: a remote file is fetched
      // whole for them (one transfer), and in the parts a description reads otherwise.
      const bool reads_all = options.hash || options.stats || options.verify;
      pth::inspect::Report report = reads_all ? pth::inspect::describe(remote.readable(path), options)
                                              : pth::inspect::describe(pth::read_checkpoint(remote.read_in_parts(path)), options);
      report.checkpoint.path = path;
      for (std::string& problem : report.problems) problem = remote.shown(problem);
      if (!report.problems.empty() && status == kExitOk) status = kExitFailed;
      if (json) pth::inspect::write_report_json(documents, report, options);
      else std::cout << pth::inspect::report_to_text(report, options, tensors);
    } catch (const std::exception& e) {
      const std::string why = remote.shown(e.what());
      report_error(path, why);
      // Under --verify a malformed file is a verification failure, not a usage error; a
      // file that cannot be read at all still is one. Either way --json names it.
      const bool malformed = dynamic_cast<const pth::FormatError*>(&e) != nullptr;
      if (options.verify && json) pth::inspect::write_unreadable_json(documents, path, why);
      else if (options.verify && malformed) std::cout << path << ": verify: FAILED\n    " << why << "\n";
      if (options.verify && malformed) {
        if (status == kExitOk) status = kExitFailed;
      } else {
        status = kExitInputError;
      }
    }
  }
  documents.end_array();
  documents.end_object();
  if (json) std::cout << documents.text() << "\n";
  return status;
}
