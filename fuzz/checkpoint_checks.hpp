#pragma once
// What sg-ckpt-inspect does to a checkpoint, for the checkpoint and legacy targets: read
// it, walk every tensor's metadata, hash it and take its statistics, verify the file,
// render the JSON and text descriptions, and diff it against itself.
#include <string>

#include "pth/error.hpp"
#include "pth/inspect.hpp"
#include "pth/tensor_data.hpp"
#include "pth/tensor_walk.hpp"

namespace fuzz {

inline void check_checkpoint_file(const std::string& path) {
  namespace in = pth::inspect;
  try {
    in::Report r = in::describe(path, in::Options{});
    for (in::TensorReport& t : r.tensors) {
      const pth::Tensor& tensor = *t.tensor;
      (void)tensor.is_contiguous();
      t.sha256 = pth::tensor_sha256(tensor);
      t.stats = pth::tensor_stats(tensor);
      pth::ElementStream stream(tensor);
      double block[256];
      while (stream.read(block, 256) != 0) {
      }
    }
    r.problems = pth::verify_checkpoint(r.checkpoint);
    const in::Options all{true, true, true};
    pth::JsonWriter report_json(2);
    in::write_report_json(report_json, r, all);
    (void)in::report_to_text(r, all, true);
    const in::Diff d = in::diff(r.checkpoint, r.checkpoint);
    (void)in::diff_to_text(d);
    pth::JsonWriter diff_json;
    in::write_diff_json(diff_json, d);
  } catch (const pth::Error&) {
    // refused: the expected answer to a malformed or hostile file
  }
}

}  // namespace fuzz
