// pth_roundtrip IN OUT
//
// Reads IN with pth::read_checkpoint and writes its value tree to OUT with
// pth::write_checkpoint. Used by test/python/test_roundtrip.py (files we write must load
// in torch.load with identical values) and test_hostile_files.py (unreadable inputs must
// give exit 2, one line on stderr, and no OUT file).
//
// Exit codes: 0 written; 2 usage error or unreadable input / failed write, with exactly
// one line on stderr: "pth_roundtrip: error: <path>: <why>".
#include <cstdio>
#include <exception>
#include <string>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"

namespace {

std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s;
}

int fail(const std::string& path, const std::string& why) {
  std::fprintf(stderr, "pth_roundtrip: error: %s: %s\n", path.c_str(), one_line(why).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "pth_roundtrip: error: usage: pth_roundtrip IN OUT\n");
    return 2;
  }
  const std::string in = argv[1];
  const std::string out = argv[2];

  pth::Checkpoint ckpt;
  try {
    ckpt = pth::read_checkpoint(in);
  } catch (const std::exception& e) {
    return fail(in, e.what());
  } catch (...) {
    return fail(in, "unknown error");
  }

  try {
    pth::write_checkpoint(out, ckpt.root);
  } catch (const std::exception& e) {
    return fail(out, e.what());
  } catch (...) {
    return fail(out, "unknown error");
  }
  return 0;
}
