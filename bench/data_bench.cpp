// data_bench: images per second of lib/image's decode + SG's ImageNet training transforms
// (RandomResizedCropAndInterpolation 224, RandomHorizontalFlip, ToTensor + Normalize) over
// an ImageFolder, on 1 and N threads, and of reading the same files (the raw reference).
// Run through scripts/bench-data, which makes the folder and runs torchvision beside it.
//
//   data_bench ROOT THREADS [EPOCHS]     prints one line per measurement:
//   "<what> <threads> <images> <seconds> <images/s>"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "image/decode.hpp"
#include "image/image_folder.hpp"
#include "image/transforms.hpp"
#include "pth/input_file.hpp"

namespace {

using namespace sg::image;
using Clock = std::chrono::steady_clock;

Pipeline imagenet_training() {
  Pipeline p;
  p.image_steps = {std::make_shared<RandomResizedCrop>(224, 224), std::make_shared<RandomHorizontalFlip>(0.5)};
  p.mean = {0.485f, 0.456f, 0.406f};
  p.std = {0.229f, 0.224f, 0.225f};
  return p;
}

// Runs job(sample index, thread buffer) for every sample of every epoch on `threads` threads.
template <class Job>
double run_parallel(std::size_t samples, int epochs, int threads, Job job) {
  const auto t0 = Clock::now();
  std::atomic<std::size_t> next{0};
  const std::size_t total = samples * epochs;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      std::vector<float> buffer(3 * 224 * 224);
      for (std::size_t i; (i = next.fetch_add(1)) < total;) job(i, buffer);
    });
  for (auto& t : pool) t.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void report(const char* what, int threads, std::size_t images, double seconds) {
  std::printf("%s %d %zu %.3f %.1f\n", what, threads, images, seconds, images / seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: data_bench ROOT THREADS [EPOCHS]\n");
    return 2;
  }
  try {
    const ImageFolderIndex index = index_image_folder(argv[1]);
    const int max_threads = std::atoi(argv[2]);
    const int epochs = argc > 3 ? std::atoi(argv[3]) : 2;
    const std::size_t n = index.samples.size();
    const Pipeline pipeline = imagenet_training();
    std::atomic<std::uint64_t> sink{0};

    for (int threads : {1, max_threads}) {
      const double raw = run_parallel(n, epochs, threads, [&](std::size_t i, std::vector<float>&) {
        const std::string bytes = pth::read_input_file(index.samples[i % n].path, 1u << 30);
        sink += static_cast<unsigned char>(bytes[bytes.size() / 2]);
      });
      report("read", threads, n * epochs, raw);
      const double decode = run_parallel(n, epochs, threads, [&](std::size_t i, std::vector<float>&) {
        sink += decode_file(index.samples[i % n].path).pixels[0];
      });
      report("decode", threads, n * epochs, decode);
      const double full = run_parallel(n, epochs, threads, [&](std::size_t i, std::vector<float>& buffer) {
        const Image img = decode_file(index.samples[i % n].path);
        pipeline.run(img, sample_seed(0, i / n, i % n), buffer.data(), buffer.size());
        sink += buffer[0] > 0;
      });
      report("decode+transforms", threads, n * epochs, full);
      if (threads == max_threads) break;
    }
    return sink == 0xFFFFFFFFFFFFFFFFull;   // keeps the work from being optimised away
  } catch (const std::exception& e) {
    std::fprintf(stderr, "data_bench: error: %s\n", e.what());
    return 2;
  }
}
