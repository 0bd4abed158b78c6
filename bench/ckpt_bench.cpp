// ckpt_bench: what a checkpoint save costs the training thread, for scripts/bench-ckpt.
//
//   ckpt_bench SHAPES_FILE DIR [--saves N]
//
// Builds the synthetic state of SHAPES_FILE (synthetic_state.hpp), then prints one line
// per measurement, "KIND SECONDS":
//   memcpy         the state's bytes copied into memory copied into before (the floor of
//                  any snapshot: a copy of the bytes, without page faults)
//   memcpy-fresh   the same into memory never touched before (a snapshot that allocates)
//   sync           SaveQueue on the calling thread: the whole write (fsync included)
//   async          SaveQueue in the background: what write() blocks (the staging copy)
//   async-written  from that write() until its file is on disk (the writer thread's part)
// N of each (default 5), saved as DIR/ckpt_latest.pth; the first of each warms up.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pth/folder.hpp"
#include "pth/page_buffer.hpp"
#include "pth/tensor_walk.hpp"
#include "sg/checkpoint/save_queue.hpp"
#include "synthetic_state.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void print(const char* kind, double seconds) {
  std::printf("%s %.6f\n", kind, seconds);
  std::fflush(stdout);
}

double copy_state(const pth::Value& state, uint8_t* dst) {
  const auto start = Clock::now();
  for (const pth::TensorAt& at : pth::collect_tensors(state)) {
    const pth::ByteView b = at.tensor->storage->data->bytes();
    std::memcpy(dst, b.data, b.size);
    dst += (b.size + 63) / 64 * 64;
  }
  return seconds_since(start);
}

void time_memcpy(const pth::Value& state, uint64_t total, int saves) {
  const uint64_t room = total + 64 * pth::collect_tensors(state).size();
  {
    const pth::PageBuffer reused(room);   // the memory the staging buffer copies into
    for (int i = 0; i < saves; ++i) print("memcpy", copy_state(state, reused.data()));
  }
  for (int i = 0; i < saves; ++i) {
    const pth::PageBuffer fresh(room);
    print("memcpy-fresh", copy_state(state, fresh.data()));
  }
}

void time_saves(const pth::Value& state, const pth::Folder& folder, bool background, int saves) {
  sg::SaveQueue queue(background);
  for (int i = 0; i < saves; ++i) {
    ::sync();   // earlier files are not flushed inside this save
    queue.begin();
    const auto start = Clock::now();
    queue.write(folder, {"ckpt_latest.pth"}, state);
    print(background ? "async" : "sync", seconds_since(start));
    if (!background) continue;
    queue.flush();
    print("async-written", seconds_since(start));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && !(argc == 5 && std::strcmp(argv[3], "--saves") == 0)) {
    std::fprintf(stderr, "usage: ckpt_bench SHAPES_FILE DIR [--saves N]\n");
    return 2;
  }
  const int saves = argc == 5 ? std::atoi(argv[4]) : 5;
  try {
    uint64_t total = 0;
    const pth::Value state = make_state_dict(read_shapes(argv[1]), &total);
    const pth::Folder folder = pth::Folder::open(argv[2]);
    time_memcpy(state, total, saves);
    time_saves(state, folder, /*background=*/false, saves);
    time_saves(state, folder, /*background=*/true, saves);
    std::printf("bytes %llu\n", static_cast<unsigned long long>(total));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckpt_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
