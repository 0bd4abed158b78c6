// pth_bench: times lib/pth's checkpoint save and load on a synthetic state dict, for
// scripts/bench-io (which runs bench/torch_io.py, its Python twin, on the same tensors).
//
//   pth_bench save SHAPES_FILE OUT [--repeat N]   one line per run: seconds of write_checkpoint
//   pth_bench load IN [--repeat N] [--mode M] [--unchecked]
//                                                 one line per run: seconds, tensor bytes
//                                                 (modes: see materialise(); --unchecked: see Source)
//   pth_bench profile-save SHAPES_FILE OUT        sub-step timings of a save (stderr-friendly)
//   pth_bench profile-load IN                     sub-step timings of a load
//
// SHAPES_FILE: see synthetic_state.hpp (both sides write the same bytes).
//
// Timing rules (shared with torch_io.py): tensors are made before the clock starts; a save
// is the write_checkpoint call alone (it fsyncs: that is its real behaviour); everything
// dirty is synced before each run so earlier writes are not flushed inside it. A load is
// read_checkpoint plus copying every storage's bytes into freshly allocated memory; freeing
// happens after the clock stops. Run each load in a fresh process: in a loop, glibc's
// malloc hands back memory freed by the previous run and most page faults vanish.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/checkpoint.hpp"
#include "pth/crc32.hpp"
#include "pth/error.hpp"
#include "pth/page_buffer.hpp"
#include "pth/parallel_jobs.hpp"
#include "pth/pickle_writer.hpp"
#include "pth/tensor_walk.hpp"
#include "synthetic_state.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Options {
  int repeat = 1;
  std::string mode = "copy";
  bool unchecked = false;
};

Options parse_options(int argc, char** argv, int first_option) {
  Options o;
  for (int i = first_option; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      o.repeat = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      o.mode = argv[++i];
    } else if (std::strcmp(argv[i], "--unchecked") == 0) {
      o.unchecked = true;
    } else {
      throw std::runtime_error(std::string("unknown option ") + argv[i]);
    }
  }
  if (o.repeat < 1) throw std::runtime_error("--repeat needs a positive count");
  return o;
}

int cmd_save(const std::string& shapes_file, const std::string& out, int repeat) {
  uint64_t total = 0;
  const pth::Value root = make_state_dict(read_shapes(shapes_file), &total);
  for (int r = 0; r < repeat; ++r) {
    ::sync();
    const auto start = Clock::now();
    pth::write_checkpoint(out, root);
    const double s = seconds_since(start);
    std::printf("%.6f %llu\n", s, static_cast<unsigned long long>(total));
    std::fflush(stdout);
  }
  return 0;
}

// Where the storages' bytes come from: their StorageData, whose zip record CRC is checked
// when the data is first used (what the programs do), or with --unchecked straight from
// the zip records, as the reader was before it checked CRCs: the difference is what the
// check costs. Only stored records, which is what torch.save writes.
class Source {
 public:
  Source(const pth::Checkpoint& ckpt, bool unchecked) : ckpt_(ckpt), unchecked_(unchecked) {}

  pth::ByteView bytes(const pth::Storage& s) const { return unchecked_ ? record(s) : s.data->bytes(); }
  // All of the storage into dst with pread (no page faults on the mapping).
  void copy(const pth::Storage& s, void* dst) const {
    if (unchecked_) ckpt_.file->read_into(record(s), dst);
    else s.data->copy_range(0, size_t(s.nbytes()), dst);
  }

 private:
  pth::ByteView record(const pth::Storage& s) const {
    const pth::ZipEntry* e = ckpt_.zip ? ckpt_.zip->find(ckpt_.root_name + "/data/" + s.key) : nullptr;
    if (e == nullptr || e->method != 0) throw std::runtime_error("--unchecked needs a zip of stored records");
    return ckpt_.zip->stored_view(*e).sub(0, size_t(s.nbytes()));
  }

  const pth::Checkpoint& ckpt_;
  bool unchecked_;
};

// A real load: every storage's bytes copied into new memory (each page of it touched).
//   fresh    what sg's to_torch_all does: storages >= 4 MiB in huge pages (pth::PageBuffer),
//            the rest aligned_alloc, filled by copy_range (pread, the CRC over the bytes as
//            they land: no second pass) on up to four threads (pth::run_jobs)
//   copy     aligned_alloc + memcpy from the mapping (torch allocates with posix_memalign too)
//   pread    aligned_alloc + pread from the file (no faults on the mapping), as
//            StorageData::copy_range does
//   hugepage mmap + madvise(MADV_HUGEPAGE) for storages >= 2 MiB, then memcpy
//   threads2 aligned_alloc + memcpy, each storage split over 2 threads
//   map      no copy: the tensors are used where the file is mapped; every page is touched
//            so that all data is resident and mapped (what our tools do with a checkpoint)
//   into     pread (as `pread`) into destination buffers allocated and touched before the
//            clock starts, on up to four threads, as loading into an existing model's
//            parameters does (sg's load_state_dict_into)
enum class Mode { Fresh, Copy, Pread, HugePage, Threads2, Map, Into };

Mode parse_mode(const std::string& m) {
  if (m == "map") return Mode::Map;
  if (m == "into") return Mode::Into;
  if (m == "fresh") return Mode::Fresh;
  if (m == "copy") return Mode::Copy;
  if (m == "pread") return Mode::Pread;
  if (m == "hugepage") return Mode::HugePage;
  if (m == "threads2") return Mode::Threads2;
  throw std::runtime_error("unknown --mode " + m);
}

std::shared_ptr<void> allocate_huge(size_t n) {
  constexpr size_t kHuge = size_t(2) << 20;
  if (n < kHuge) return allocate(n);
  const size_t len = (n + kHuge - 1) / kHuge * kHuge;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  ::madvise(p, len, MADV_HUGEPAGE);
  return std::shared_ptr<void>(p, [len](void* q) { ::munmap(q, len); });
}

std::shared_ptr<void> allocate_pages(size_t n) {
  if (n < (size_t(4) << 20)) return allocate(n);
  auto pages = std::make_shared<pth::PageBuffer>(n);
  return std::shared_ptr<void>(pages, pages->data());
}

struct Loaded {
  std::vector<std::shared_ptr<void>> buffers;
  uint64_t bytes = 0;
};

// Every storage into its buffer, spread over the cores as the programs' loads are.
void copy_all(const Source& source, const pth::Checkpoint& ckpt, const std::vector<std::shared_ptr<void>>& buffers) {
  std::vector<uint64_t> costs;
  for (const auto& s : ckpt.storages) costs.push_back(s->nbytes());
  pth::run_jobs(costs, [&](size_t i) { source.copy(*ckpt.storages[i], buffers[i].get()); });
}

Loaded materialise(const Source& source, const pth::Checkpoint& ckpt, Mode mode) {
  Loaded out;
  out.buffers.reserve(ckpt.storages.size());
  if (mode == Mode::Fresh) {
    for (const auto& s : ckpt.storages) {
      out.buffers.push_back(allocate_pages(size_t(s->nbytes())));
      out.bytes += s->nbytes();
    }
    copy_all(source, ckpt, out.buffers);
    return out;
  }
  for (const auto& s : ckpt.storages) {
    const size_t n = size_t(s->nbytes());
    std::shared_ptr<void> dst = mode == Mode::HugePage ? allocate_huge(n) : allocate(n);
    uint8_t* d = static_cast<uint8_t*>(dst.get());
    if (mode == Mode::Pread) {
      source.copy(*s, d);
    } else if (mode == Mode::Threads2 && n >= (size_t(1) << 20)) {
      const pth::ByteView src = source.bytes(*s);
      const size_t mid = n / 2 / 4096 * 4096;
      std::thread other([&] { std::memcpy(d + mid, src.data + mid, n - mid); });
      std::memcpy(d, src.data, mid);
      other.join();
    } else {
      std::memcpy(d, source.bytes(*s).data, n);
    }
    out.buffers.push_back(std::move(dst));
    out.bytes += n;
  }
  return out;
}

// Sums one byte of every page: forces the mapping of all data without copying it.
volatile uint64_t page_sum_sink;  // keeps the page reads from being optimised away

uint64_t touch_pages(const Source& source, const pth::Checkpoint& ckpt) {
  uint64_t sum = 0, bytes = 0;
  for (const auto& s : ckpt.storages) {
    const pth::ByteView v = source.bytes(*s);
    for (size_t i = 0; i < v.size; i += 4096) sum += v.data[i];
    bytes += s->nbytes();
  }
  page_sum_sink = sum;
  return bytes;
}

// Destination buffers for every storage of `in`, allocated and faulted in (not timed).
std::vector<std::shared_ptr<void>> preallocate(const std::string& in) {
  std::vector<std::shared_ptr<void>> buffers;
  for (const auto& s : pth::read_checkpoint(in).storages) {
    buffers.push_back(allocate(size_t(s->nbytes())));
    std::memset(buffers.back().get(), 0, size_t(s->nbytes()));
  }
  return buffers;
}

int cmd_load(const std::string& in, const Options& o) {
  const Mode mode = parse_mode(o.mode);
  if (mode == Mode::Map || mode == Mode::Into) {
    const auto buffers = mode == Mode::Into ? preallocate(in) : std::vector<std::shared_ptr<void>>{};
    for (int r = 0; r < o.repeat; ++r) {
      const auto start = Clock::now();
      pth::Checkpoint ckpt = pth::read_checkpoint(in);   // in use after the clock stops
      const Source source(ckpt, o.unchecked);
      uint64_t bytes = 0;
      if (mode == Mode::Map) {
        bytes = touch_pages(source, ckpt);
      } else {
        copy_all(source, ckpt, buffers);
        for (const auto& s : ckpt.storages) bytes += s->nbytes();
      }
      const double s = seconds_since(start);
      std::printf("%.6f %llu\n", s, static_cast<unsigned long long>(bytes));
      std::fflush(stdout);
    }
    return 0;
  }
  for (int r = 0; r < o.repeat; ++r) {
    const auto start = Clock::now();
    Loaded loaded;
    {
      pth::Checkpoint ckpt = pth::read_checkpoint(in);
      loaded = materialise(Source(ckpt, o.unchecked), ckpt, mode);
      // The checkpoint (its mapping) goes away here, as a real loader's would.
    }
    const double s = seconds_since(start);
    std::printf("%.6f %llu\n", s, static_cast<unsigned long long>(loaded.bytes));
    std::fflush(stdout);
  }
  return 0;
}

// --- profiles: the same work cut into steps, each timed on its own -------------------

void step(const char* name, double s, uint64_t bytes) {
  if (bytes)
    std::printf("  %-44s %9.4f s  %8.0f MB/s\n", name, s, bytes / 1e6 / s);
  else
    std::printf("  %-44s %9.4f s\n", name, s);
}

int cmd_profile_save(const std::string& shapes_file, const std::string& out) {
  auto start = Clock::now();
  uint64_t total = 0;
  const pth::Value root = make_state_dict(read_shapes(shapes_file), &total);
  std::printf("save profile, %.1f MB of tensors\n", total / 1e6);
  step("make tensors (alloc + fill, not in save)", seconds_since(start), total);

  for (int r = 0; r < 2; ++r) {   // the first pass warms caches and the allocator
    std::printf(r == 0 ? "warm-up pass:\n" : "measured pass:\n");
    ::sync();
    start = Clock::now();
    pth::write_checkpoint(out, root);
    step("write_checkpoint (replacing the file)", seconds_since(start), total);

    ::sync();
    start = Clock::now();
    ::unlink(out.c_str());
    step("unlink of the old file (not in save)", seconds_since(start), 0);
    ::sync();
    start = Clock::now();
    pth::write_checkpoint(out, root);
    step("write_checkpoint (to a new name)", seconds_since(start), total);

    ::sync();
    start = Clock::now();
    const auto tensors = pth::collect_tensors(root);
    step("collect_tensors", seconds_since(start), 0);

    start = Clock::now();
    size_t n_storages = 0;
    const std::string pickle = pth::pickle_value(root, [&](const pth::Storage&) { return std::to_string(n_storages++); });
    step("pickle_value", seconds_since(start), 0);

    start = Clock::now();
    uint32_t crc = 0;
    for (const auto& t : tensors) crc = pth::crc32_update(crc, t.tensor->storage->data->bytes());
    step("crc32 of all data (libdeflate)", seconds_since(start), total);

    const std::string raw = out + ".raw";
    start = Clock::now();
    {
      pth::AtomicFile f(raw);
      for (const auto& t : tensors) f.write(t.tensor->storage->data->bytes());
      const double w = seconds_since(start);
      step("write() of all data to a new file", w, total);
      const auto fs = Clock::now();
      f.commit();
      step("commit (fsync + rename + fsync dir)", seconds_since(fs), total);
    }
    step("raw write + commit", seconds_since(start), total);
    ::unlink(raw.c_str());
    std::printf("  (crc %08x, pickle %zu bytes, %zu storages)\n", crc, pickle.size(), n_storages);
  }
  return 0;
}

int cmd_profile_load(const std::string& in) {
  for (int r = 0; r < 2; ++r) {
    std::printf(r == 0 ? "warm-up pass:\n" : "measured pass:\n");
    auto start = Clock::now();
    pth::Checkpoint ckpt = pth::read_checkpoint(in);
    step("read_checkpoint (map + zip + unpickle)", seconds_since(start), 0);

    uint64_t total = 0;
    for (const auto& s : ckpt.storages) total += s->nbytes();

    start = Clock::now();
    std::vector<std::shared_ptr<void>> buffers;
    for (const auto& s : ckpt.storages) buffers.push_back(allocate(size_t(s->nbytes())));
    step("allocate (untouched)", seconds_since(start), 0);

    const Source unchecked(ckpt, true);
    start = Clock::now();
    uint64_t sum = 0;
    for (const auto& s : ckpt.storages) {
      const pth::ByteView v = unchecked.bytes(*s);
      for (size_t i = 0; i < v.size; i += 4096) sum += v.data[i];
    }
    step("fault in the mapping (1 byte per page)", seconds_since(start), total);

    start = Clock::now();
    for (const auto& s : ckpt.storages) s->data->bytes();
    step("CRC check of every record (mapped, first use)", seconds_since(start), total);

    start = Clock::now();
    for (size_t i = 0; i < buffers.size(); ++i) {
      const auto& s = ckpt.storages[i];
      std::memcpy(buffers[i].get(), s->data->bytes().data, size_t(s->nbytes()));
    }
    step("memcpy into new buffers (first touch)", seconds_since(start), total);

    start = Clock::now();
    for (size_t i = 0; i < buffers.size(); ++i) {
      const auto& s = ckpt.storages[i];
      std::memcpy(buffers[i].get(), s->data->bytes().data, size_t(s->nbytes()));
    }
    step("memcpy again (pages already there)", seconds_since(start), total);

    start = Clock::now();
    for (size_t i = 0; i < buffers.size(); ++i) unchecked.copy(*ckpt.storages[i], buffers[i].get());
    step("pread into the same buffers", seconds_since(start), total);

    const pth::Checkpoint again = pth::read_checkpoint(in);
    start = Clock::now();
    for (size_t i = 0; i < buffers.size(); ++i) {
      const auto& s = again.storages[i];
      s->data->copy_range(0, size_t(s->nbytes()), buffers[i].get());
    }
    step("pread + CRC (copy_range, first use)", seconds_since(start), total);

    start = Clock::now();
    buffers.clear();
    step("free buffers (not in load)", seconds_since(start), 0);

    ckpt = pth::Checkpoint();
    if (sum == 1) std::printf(" ");
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: pth_bench save SHAPES_FILE OUT [--repeat N]\n"
               "       pth_bench load IN [--repeat N] [--mode copy|pread|hugepage|threads2|map|into] [--unchecked]\n"
               "       pth_bench profile-save SHAPES_FILE OUT\n"
               "       pth_bench profile-load IN\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "save" && argc >= 4) return cmd_save(argv[2], argv[3], parse_options(argc, argv, 4).repeat);
    if (cmd == "load") return cmd_load(argv[2], parse_options(argc, argv, 3));
    if (cmd == "profile-save" && argc == 4) return cmd_profile_save(argv[2], argv[3]);
    if (cmd == "profile-load" && argc == 3) return cmd_profile_load(argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pth_bench: %s\n", e.what());
    return 1;
  }
  return usage();
}
