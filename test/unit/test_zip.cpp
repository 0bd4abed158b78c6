#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/crc32.hpp"
#include "pth/error.hpp"
#include "pth/mapped_file.hpp"
#include "pth/zip_reader.hpp"
#include "pth/zip_writer.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  REQUIRE(out.good());
}

Bytes str_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : b) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    c = uint8_t(x);
  }
  return b;
}

pth::ByteView view(const Bytes& b) { return {b.data(), b.size()}; }
Bytes copy(pth::ByteView v) { return Bytes(v.data, v.data + v.size); }
uint32_t crc_of(const Bytes& b) { return pth::crc32_update(0, view(b)); }

void put16(Bytes& b, size_t at, uint16_t v) { b[at] = uint8_t(v); b[at + 1] = uint8_t(v >> 8); }
void put32(Bytes& b, size_t at, uint32_t v) { put16(b, at, uint16_t(v)); put16(b, at + 2, uint16_t(v >> 16)); }
void put64(Bytes& b, size_t at, uint64_t v) { put32(b, at, uint32_t(v)); put32(b, at + 4, uint32_t(v >> 32)); }

struct Out {
  Bytes b;
  Out& u16(uint16_t v) { b.push_back(uint8_t(v)); b.push_back(uint8_t(v >> 8)); return *this; }
  Out& u32(uint32_t v) { u16(uint16_t(v)); return u16(uint16_t(v >> 16)); }
  Out& u64(uint64_t v) { u32(uint32_t(v)); return u32(uint32_t(v >> 32)); }
  Out& raw(const Bytes& x) { b.insert(b.end(), x.begin(), x.end()); return *this; }
  Out& raw(const std::string& x) { b.insert(b.end(), x.begin(), x.end()); return *this; }
};

// A zip built byte by byte, so that tests can describe (and then break) every field.
struct Hand {
  std::string name;
  Bytes data;                       // as stored in the file (deflated when method 8)
  std::optional<uint64_t> usize;    // default: data.size()
  std::optional<uint32_t> crc;      // default: CRC of data
  uint16_t method = 0;
  uint16_t flags = 0;
  bool descriptor = false;          // torch.save style: zero CRC/sizes, data descriptor after

  Hand(std::string n, Bytes d, std::optional<uint64_t> u = {}, std::optional<uint32_t> c = {}, uint16_t m = 0,
       uint16_t f = 0, bool desc = false)
      : name(std::move(n)), data(std::move(d)), usize(u), crc(c), method(m), flags(f), descriptor(desc) {}
};

struct Layout {
  std::vector<size_t> local, central;
  size_t cd = 0, end64 = 0, locator = 0, eocd = 0;
};

// zip64: every central entry uses 0xFFFFFFFF placeholders and a zip64 extra field with the
// real (small) values, local headers carry a zip64 field, and zip64 end records are added.
Bytes make_zip(const std::vector<Hand>& entries, Layout* layout = nullptr, bool zip64 = false) {
  Layout lay;
  Out o;
  for (const Hand& h : entries) {
    const uint64_t usize = h.usize.value_or(h.data.size());
    const uint32_t crc = h.crc.value_or(crc_of(h.data));
    const uint16_t flags = uint16_t(h.flags | (h.descriptor ? 8 : 0));
    lay.local.push_back(o.b.size());
    o.u32(0x04034b50).u16(zip64 ? 45 : 20).u16(flags).u16(h.method).u16(0).u16(0x21);
    if (h.descriptor) o.u32(0).u32(0).u32(0);
    else if (zip64) o.u32(crc).u32(0xFFFFFFFF).u32(0xFFFFFFFF);
    else o.u32(crc).u32(uint32_t(h.data.size())).u32(uint32_t(usize));
    o.u16(uint16_t(h.name.size())).u16(zip64 ? 20 : 0).raw(h.name);
    if (zip64) o.u16(1).u16(16).u64(usize).u64(h.data.size());
    o.raw(h.data);
    if (h.descriptor) o.u32(0x08074b50).u32(crc).u32(uint32_t(h.data.size())).u32(uint32_t(usize));
  }
  lay.cd = o.b.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Hand& h = entries[i];
    const uint64_t usize = h.usize.value_or(h.data.size());
    lay.central.push_back(o.b.size());
    o.u32(0x02014b50).u16(45).u16(zip64 ? 45 : 20).u16(uint16_t(h.flags | (h.descriptor ? 8 : 0)));
    o.u16(h.method).u16(0).u16(0x21).u32(h.crc.value_or(crc_of(h.data)));
    if (zip64) o.u32(0xFFFFFFFF).u32(0xFFFFFFFF);
    else o.u32(uint32_t(h.data.size())).u32(uint32_t(usize));
    o.u16(uint16_t(h.name.size())).u16(zip64 ? 28 : 0).u16(0).u16(0).u16(0).u32(0);
    o.u32(zip64 ? 0xFFFFFFFF : uint32_t(lay.local[i])).raw(h.name);
    if (zip64) o.u16(1).u16(24).u64(usize).u64(h.data.size()).u64(lay.local[i]);
  }
  const uint64_t cd_size = o.b.size() - lay.cd;
  if (zip64) {
    lay.end64 = o.b.size();
    o.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0);
    o.u64(entries.size()).u64(entries.size()).u64(cd_size).u64(lay.cd);
    lay.locator = o.b.size();
    o.u32(0x07064b50).u32(0).u64(lay.end64).u32(1);
  }
  lay.eocd = o.b.size();
  o.u32(0x06054b50).u16(0).u16(0);
  if (zip64) o.u16(0xFFFF).u16(0xFFFF).u32(0xFFFFFFFF).u32(0xFFFFFFFF);
  else o.u16(uint16_t(entries.size())).u16(uint16_t(entries.size())).u32(uint32_t(cd_size)).u32(uint32_t(lay.cd));
  o.u16(0);
  if (layout) *layout = lay;
  return o.b;
}

Bytes raw_deflate(const Bytes& in, int level = 6) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  REQUIRE(deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&zs, uLong(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::shared_ptr<const pth::MappedFile> map_bytes(const TempDir& dir, const Bytes& b) {
  const std::string path = dir.file("input.zip");
  write_file(path, b);
  return pth::MappedFile::open(path);
}

// The message of the pth::FormatError that f throws; any other exception escapes.
std::string format_error(const std::function<void()>& f) { return error_message<pth::FormatError>(f); }

std::string parse_error(const TempDir& dir, const Bytes& zip, pth::ZipLimits limits = {}) {
  auto file = map_bytes(dir, zip);
  return format_error([&] { pth::ZipReader reader(file, limits); });
}

struct Sample {
  std::string name;
  std::vector<Bytes> pieces;
  Bytes whole() const {
    Bytes w;
    for (const Bytes& p : pieces) w.insert(w.end(), p.begin(), p.end());
    return w;
  }
};

std::vector<Sample> sample_entries() {
  return {
      {"archive/data.pkl", {pattern(100, 1)}},
      {"archive/data/0", {}},
      {"archive/data/1", {pattern((3u << 20) + 7, 2)}},
      {"archive/data/2", {pattern(1000, 3), Bytes{}, pattern(333, 4)}},
      {"archive/version", {str_bytes("3\n")}},
  };
}

void write_samples(const std::string& path, const std::vector<Sample>& samples, uint64_t alignment) {
  pth::AtomicFile out(path);
  pth::ZipWriter zip(out, alignment);
  for (const Sample& s : samples) {
    std::vector<pth::ByteView> views;
    for (const Bytes& p : s.pieces) views.push_back(view(p));
    if (views.size() == 1) zip.add(s.name, views[0]);
    else zip.add(s.name, views);
  }
  zip.finish();
  out.commit();
}

std::vector<std::string> temp_files_in(const fs::path& dir) {
  std::vector<std::string> found;
  for (const std::string& name : names_in(dir))
    if (pth::AtomicFile::is_temp_name(name)) found.push_back((dir / name).string());
  return found;
}

int run_python(const TempDir& dir, const std::string& script, const std::string& args) {
  const std::string path = dir.file("script.py");
  write_file(path, str_bytes(script));
  const int rc = std::system(("/usr/bin/python3 " + path + " " + args).c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

TEST_CASE("crc32_update matches the standard CRC-32 and is incremental", "[zip]") {
  CHECK(pth::crc32_update(0, view(str_bytes("123456789"))) == 0xCBF43926u);
  CHECK(pth::crc32_update(0, {}) == 0u);
  CHECK(pth::crc32_update(0xCBF43926u, {}) == 0xCBF43926u);   // an empty piece keeps the running CRC
  const Bytes b = pattern(100000, 9);
  const uint32_t split = pth::crc32_update(pth::crc32_update(0, {b.data(), 4321}), {b.data() + 4321, b.size() - 4321});
  CHECK(split == crc_of(b));
}

TEST_CASE("ZipWriter output reads back with ZipReader", "[zip]") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  const auto samples = sample_entries();
  write_samples(path, samples, 64);

  auto file = pth::MappedFile::open(path);
  CHECK(pth::ZipReader::has_zip_signature(file->view()));
  pth::ZipReader reader(file);
  REQUIRE(reader.entries().size() == samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const pth::ZipEntry& e = reader.entries()[i];
    const Bytes whole = samples[i].whole();
    INFO(e.name);
    CHECK(e.name == samples[i].name);
    CHECK(e.method == 0);
    CHECK(e.uncompressed_size == whole.size());
    CHECK(e.compressed_size == whole.size());
    CHECK(e.crc32 == crc_of(whole));
    CHECK(e.data_offset % 64 == 0);
    CHECK(copy(reader.stored_view(e)) == whole);
    CHECK(reader.read(e, whole.size()) == whole);
    CHECK(reader.crc_matches(e));
    CHECK(reader.find(e.name) == &e);

    // The padding is an "FB" extra field filled with 'Z', right before the data.
    const uint8_t* lh = file->view().data + e.local_header_offset;
    const size_t extra_at = 30 + pth::load_le16(lh + 26);
    REQUIRE(pth::load_le16(lh + 28) >= 4);
    CHECK(lh[extra_at] == 'F');
    CHECK(lh[extra_at + 1] == 'B');
    const uint16_t pad = pth::load_le16(lh + extra_at + 2);
    CHECK(e.local_header_offset + extra_at + 4 + pad == e.data_offset);
    for (uint16_t k = 0; k < pad; ++k) REQUIRE(lh[extra_at + 4 + k] == 'Z');
  }
  CHECK(reader.find("archive/missing") == nullptr);
  CHECK(reader.find("archive/data") == nullptr);

  // Always a zip64 end record and locator before the classic end record.
  const pth::ByteView v = file->view();
  REQUIRE(v.size > 98);
  CHECK(pth::load_le32(v.data + v.size - 22) == 0x06054b50u);
  CHECK(pth::load_le32(v.data + v.size - 42) == 0x07064b50u);
  CHECK(pth::load_le32(v.data + v.size - 98) == 0x06064b50u);
}

TEST_CASE("ZipWriter honours other alignments and refuses misuse", "[zip]") {
  TempDir dir;
  for (uint64_t alignment : {1u, 4096u}) {
    const std::string path = dir.file("a" + std::to_string(alignment));
    write_samples(path, sample_entries(), alignment);
    pth::ZipReader reader(pth::MappedFile::open(path));
    REQUIRE(reader.entries().size() == 5);
    for (const auto& e : reader.entries()) {
      CHECK(e.data_offset % alignment == 0);
      CHECK(reader.crc_matches(e));
      // Alignment 1 needs no padding field at all.
      if (alignment == 1) CHECK(e.data_offset == e.local_header_offset + 30 + e.name.size());
    }
  }

  pth::AtomicFile out(dir.file("dup.zip"));
  pth::ZipWriter zip(out);
  const Bytes b = str_bytes("x");
  zip.add("a", view(b));
  zip.add("a", view(b));
  CHECK_THROWS_AS(zip.finish(), pth::Error);
  CHECK_THROWS_AS(zip.add("b", view(b)), pth::Error);
  CHECK_THROWS_AS(pth::ZipWriter(out, 1u << 20), pth::Error);
}

TEST_CASE("crc_matches notices a flipped byte", "[zip]") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_samples(path, sample_entries(), 64);
  const std::string bad = dir.file("bad.pth");
  fs::copy_file(path, bad);

  uint64_t offset = 0;
  {
    pth::ZipReader reader(pth::MappedFile::open(path));
    const pth::ZipEntry* e = reader.find("archive/data/1");
    REQUIRE(e != nullptr);
    offset = e->data_offset + 12345;
  }
  Bytes b = read_file(bad);
  b[offset] ^= 0x01;
  write_file(bad, b);

  pth::ZipReader reader(pth::MappedFile::open(bad));
  for (const auto& e : reader.entries()) {
    INFO(e.name);
    CHECK(reader.crc_matches(e) == (e.name != "archive/data/1"));
  }
}

// The message of the pth::FileDataError that f throws, after the file it names.
std::string data_error(const std::function<void()>& f) {
  return error_message<pth::FileDataError>(f, [](const pth::FileDataError& e) { return e.file() + ": " + e.what(); });
}

TEST_CASE("ZipReader::read checks the CRC of stored and deflated entries as it reads them", "[zip]") {
  TempDir dir;
  const Bytes plain = pattern(70000, 5);
  const Bytes packed = raw_deflate(plain);
  const uint32_t wrong = crc_of(plain) ^ 0x00100000u;
  const std::string expected = dir.file("input.zip") + ": CRC mismatch in record 'x/data.pkl'";
  for (const uint16_t method : {uint16_t(0), uint16_t(8)}) {
    INFO("method " << method);
    const Bytes& data = method == 0 ? plain : packed;
    pth::ZipReader good(map_bytes(dir, make_zip({{"x/data.pkl", data, plain.size(), crc_of(plain), method}})));
    CHECK(good.read(good.entries()[0], plain.size()) == plain);
    CHECK_NOTHROW(good.check_crc(good.entries()[0]));

    pth::ZipReader bad(map_bytes(dir, make_zip({{"x/data.pkl", data, plain.size(), wrong, method}})));
    const pth::ZipEntry& e = bad.entries()[0];
    CHECK(data_error([&] { bad.read(e, plain.size()); }) == expected);
    CHECK(data_error([&] { bad.check_crc(e); }) == expected);
    CHECK(data_error([&] { bad.expect_crc(e, crc_of(plain)); }) == expected);
    CHECK_NOTHROW(bad.expect_crc(e, wrong));
    CHECK_FALSE(bad.crc_matches(e));
  }
}

TEST_CASE("a CRC mismatch in a file rewritten after it was opened says the file changed", "[zip]") {
  TempDir dir;
  const Bytes plain = pattern(10000, 6);
  const Bytes zip = make_zip({{"x/data/0", plain}});
  auto file = map_bytes(dir, zip);
  pth::ZipReader reader(file);
  const pth::ZipEntry& e = reader.entries()[0];
  CHECK_FALSE(file->changed_since_open());

  // Rewritten in place (what torch.save does to an existing file), a day later.
  Bytes edited = zip;
  edited[e.data_offset + 100] ^= 0x01;
  {
    std::fstream f(file->path(), std::ios::in | std::ios::out | std::ios::binary);
    f.write(reinterpret_cast<const char*>(edited.data()), std::streamsize(edited.size()));
  }
  struct timespec times[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 86400, 0}};
  REQUIRE(::utimensat(AT_FDCWD, file->path().c_str(), times, 0) == 0);
  CHECK(file->changed_since_open());
  CHECK(data_error([&] { reader.check_crc(e); }) == file->path() + ": the file changed while it was being read");
}

TEST_CASE("MappedFile maps files and reports errors without the path", "[zip]") {
  TempDir dir;
  const Bytes content = pattern(5000, 7);
  write_file(dir.file("f"), content);
  auto f = pth::MappedFile::open(dir.file("f"));
  CHECK(copy(f->view()) == content);
  CHECK(f->path() == dir.file("f"));

  write_file(dir.file("empty"), {});
  auto empty = pth::MappedFile::open(dir.file("empty"));
  CHECK(empty->view().size == 0);
  CHECK_THAT(parse_error(dir, {}), Contains("not a zip archive"));

  CHECK_THROWS_WITH(pth::MappedFile::open(dir.file("missing")), Equals("cannot open: No such file or directory"));
  CHECK_THROWS_WITH(pth::MappedFile::open(dir.path().string()), Equals("is a directory"));
}

TEST_CASE("AtomicFile replaces the target only on commit", "[zip]") {
  TempDir dir;
  const std::string target = dir.file("model.pth");
  write_file(target, str_bytes("old"));

  {
    pth::AtomicFile f(target);
    f.write(view(str_bytes("new content")));
    CHECK(f.position() == 11);
    CHECK(temp_files_in(dir.path()).size() == 1);
    CHECK(read_file(target) == str_bytes("old"));
    f.commit();
    CHECK_THROWS_AS(f.write(view(str_bytes("x"))), pth::Error);
  }
  CHECK(read_file(target) == str_bytes("new content"));
  CHECK(temp_files_in(dir.path()).empty());

  {
    pth::AtomicFile f(target);
    f.write(view(pattern(100000, 1)));
  }  // no commit: discarded
  CHECK(read_file(target) == str_bytes("new content"));
  CHECK(temp_files_in(dir.path()).empty());

  // A relative target puts its temp file in the current folder.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir.path());
  {
    pth::AtomicFile f("relative.bin");
    f.write(view(str_bytes("r")));
    f.commit();
  }
  fs::current_path(cwd);
  CHECK(read_file(dir.file("relative.bin")) == str_bytes("r"));
  CHECK(temp_files_in(dir.path()).empty());
}

TEST_CASE("AtomicFile temp names are recognised", "[zip]") {
  CHECK(pth::AtomicFile::is_temp_name(".model.pth.tmp-123-0"));
  CHECK(pth::AtomicFile::is_temp_name("/runs/x/.ckpt_best.pth.tmp-99-12"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name("model.pth"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name(".model.pth.tmp-"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name(".model.pth.tmp-12"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name(".model.pth.tmp-12-"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name(".model.pth.tmp-1x-2"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name(".tmp-1-2"));
  CHECK_FALSE(pth::AtomicFile::is_temp_name("model.pth.tmp-1-2"));

  TempDir dir;
  pth::AtomicFile f(dir.file("model.pth"));
  const auto temps = temp_files_in(dir.path());
  REQUIRE(temps.size() == 1);
  CHECK(fs::path(temps[0]).filename().string().rfind(".model.pth.tmp-" + std::to_string(::getpid()) + "-", 0) == 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st;
  REQUIRE(::stat(temps[0].c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == (0644 & ~mask));
}

TEST_CASE("AtomicFile reports folders it cannot write into", "[zip]") {
  TempDir dir;
  const std::string missing = dir.file("no/such");
  CHECK_THROWS_WITH(pth::AtomicFile(missing + "/x.pth"),
                    Equals("cannot create temp file in " + missing + ": No such file or directory"));
  write_file(dir.file("plain"), str_bytes("f"));
  CHECK_THROWS_WITH(pth::AtomicFile(dir.file("plain") + "/x.pth"), Contains("Not a directory"));

  if (::geteuid() != 0) {  // root ignores folder permissions
    const std::string ro = dir.file("ro");
    fs::create_directory(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH(pth::AtomicFile(ro + "/x.pth"), Equals("cannot create temp file in " + ro + ": Permission denied"));
  }
}

TEST_CASE("AtomicFile write failure is an error, not a crash", "[zip]") {
  TempDir dir;
  std::string message;
  {
    pth::AtomicFile f(dir.file("big.bin"));
    // Past RLIMIT_FSIZE write() fails with EFBIG, once SIGXFSZ no longer kills us.
    struct rlimit old;
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 1 << 20;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    try {
      const Bytes two_mib(2 << 20, 0xAB);
      f.write(view(two_mib));
    } catch (const pth::Error& e) {
      message = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    ::signal(SIGXFSZ, old_handler);
  }
  CHECK(message == "write failed: File too large");
  CHECK(temp_files_in(dir.path()).empty());
}

TEST_CASE("ZipReader reads torch-style entries with data descriptors", "[zip]") {
  TempDir dir;
  const Bytes a = pattern(777, 1), b = pattern(0, 2), c = str_bytes("3\n");
  std::vector<Hand> hands = {{"archive/data.pkl", a, {}, {}, 0, 0, true},
                             {"archive/data/0", b, {}, {}, 0, 0, true},
                             {"archive/version", c, {}, {}, 0, 0, true}};
  const Bytes zip = make_zip(hands);
  pth::ZipReader reader(map_bytes(dir, zip));
  REQUIRE(reader.entries().size() == 3);
  CHECK(copy(reader.stored_view(reader.entries()[0])) == a);
  CHECK(reader.entries()[1].compressed_size == 0);
  CHECK(copy(reader.stored_view(reader.entries()[2])) == c);
  for (const auto& e : reader.entries()) CHECK(reader.crc_matches(e));
}

TEST_CASE("ZipReader parses zip64 extra fields and end records", "[zip]") {
  TempDir dir;
  const Bytes a = pattern(300, 5), b = str_bytes("hello");
  Layout lay;
  const Bytes zip = make_zip({{"root/a", a}, {"root/b", b}}, &lay, true);
  pth::ZipReader reader(map_bytes(dir, zip));
  REQUIRE(reader.entries().size() == 2);
  const pth::ZipEntry& e = reader.entries()[1];
  CHECK(e.name == "root/b");
  CHECK(e.uncompressed_size == 5);
  CHECK(e.compressed_size == 5);
  CHECK(e.local_header_offset == lay.local[1]);
  CHECK(e.data_offset == lay.local[1] + 30 + 6 + 20);
  CHECK(copy(reader.stored_view(e)) == b);
  CHECK(copy(reader.stored_view(reader.entries()[0])) == a);
  CHECK(reader.crc_matches(reader.entries()[0]));
}

TEST_CASE("ZipReader inflates deflated entries and refuses bombs", "[zip]") {
  TempDir dir;
  Bytes plain;
  for (int i = 0; i < 20000; ++i) {
    const std::string line = "line " + std::to_string(i % 97) + " of text\n";
    plain.insert(plain.end(), line.begin(), line.end());
  }
  const Bytes packed = raw_deflate(plain);
  REQUIRE(packed.size() < plain.size() / 4);
  auto deflated = [&](std::optional<uint64_t> usize, Bytes data) {
    return Hand{"x/data.pkl", std::move(data), usize, crc_of(plain), 8, 0, false};
  };

  {
    pth::ZipReader reader(map_bytes(dir, make_zip({deflated(plain.size(), packed)})));
    const pth::ZipEntry& e = reader.entries()[0];
    CHECK(e.method == 8);
    CHECK(reader.read(e, plain.size()) == plain);
    CHECK(reader.crc_matches(e));
    CHECK_THROWS_AS(reader.stored_view(e), pth::FormatError);
    CHECK_THAT(format_error([&] { reader.read(e, plain.size() - 1); }), Contains("too large"));
  }
  {  // declared longer than the data inflates to
    pth::ZipReader reader(map_bytes(dir, make_zip({deflated(plain.size() + 1, packed)})));
    const pth::ZipEntry& e = reader.entries()[0];
    CHECK_THAT(format_error([&] { reader.read(e, 1 << 30); }), Contains("less than its declared size"));
    CHECK_FALSE(reader.crc_matches(e));
  }
  {  // declared shorter
    pth::ZipReader reader(map_bytes(dir, make_zip({deflated(plain.size() - 1, packed)})));
    const pth::ZipEntry& e = reader.entries()[0];
    CHECK_THAT(format_error([&] { reader.read(e, 1 << 30); }), Contains("more than its declared size"));
    CHECK_FALSE(reader.crc_matches(e));
  }
  {  // garbage and truncated streams
    Bytes garbage = packed;
    for (size_t i = 10; i < 60; ++i) garbage[i] = 0xFF;
    pth::ZipReader reader(map_bytes(dir, make_zip({deflated(plain.size(), garbage)})));
    CHECK_THAT(format_error([&] { reader.read(reader.entries()[0], 1 << 30); }), Contains("entry 'x/data.pkl'"));
    CHECK_FALSE(reader.crc_matches(reader.entries()[0]));
    const Bytes cut(packed.begin(), packed.begin() + long(packed.size() / 2));
    pth::ZipReader reader2(map_bytes(dir, make_zip({deflated(plain.size(), cut)})));
    CHECK_THAT(format_error([&] { reader2.read(reader2.entries()[0], 1 << 30); }), Contains("truncated deflate data"));
  }
  {  // a bomb claim: 100 bytes that say they hold 1 GB
    pth::ZipReader reader(map_bytes(dir, make_zip({deflated(1000000000, Bytes(100, 0))})));
    const pth::ZipEntry& e = reader.entries()[0];
    CHECK_THAT(format_error([&] { reader.read(e, uint64_t(1) << 40); }),
               Equals("zip bomb: entry 'x/data.pkl' claims 10000000x expansion"));
    CHECK_THROWS_AS(reader.crc_matches(e), pth::FormatError);
  }
  {  // a real high-ratio stream, honestly declared, within the ratio limit
    const Bytes zeros(20u << 20, 0);
    const Bytes small = raw_deflate(zeros, 9);
    pth::ZipReader reader(map_bytes(dir, make_zip({{"z", small, zeros.size(), crc_of(zeros), 8}})));
    CHECK(reader.read(reader.entries()[0], zeros.size()) == zeros);
    pth::ZipLimits strict;
    strict.max_inflate_ratio = 2;
    pth::ZipReader strict_reader(map_bytes(dir, make_zip({{"z", small, zeros.size(), crc_of(zeros), 8}})), strict);
    CHECK_THAT(format_error([&] { strict_reader.read(strict_reader.entries()[0], zeros.size()); }), Contains("zip bomb"));
  }
}

TEST_CASE("ZipReader refuses hostile archives with FormatError", "[zip]") {
  TempDir dir;
  const std::vector<Hand> good = {{"archive/data.pkl", pattern(100, 1)}, {"archive/data/0", pattern(64, 2)}};
  Layout lay;
  const Bytes base = make_zip(good, &lay);
  REQUIRE(parse_error(dir, base) == "<no error>");
  auto broken = [&](const std::function<void(Bytes&)>& edit) {
    Bytes b = base;
    edit(b);
    return parse_error(dir, b);
  };

  CHECK(parse_error(dir, str_bytes("just some text, not a zip file at all")) ==
        "not a zip archive (no end of central directory record)");
  CHECK_THAT(parse_error(dir, str_bytes("version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")),
             Contains("git-lfs"));
  CHECK_THAT(parse_error(dir, Bytes(base.begin(), base.end() - 1)), Contains("truncated"));

  CHECK(broken([&](Bytes& b) { put32(b, lay.eocd + 16, uint32_t(b.size() + 100)); }) ==
        "truncated: central directory extends past end of file");
  CHECK(broken([&](Bytes& b) { put32(b, lay.eocd + 12, 0x7FFFFFFF); }) ==
        "truncated: central directory extends past end of file");
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.central[1] + 42, uint32_t(b.size() + 5)); }),
             Equals("entry 'archive/data/0' local header lies outside the file"));
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.central[1] + 42, 0xFFFFFFF0u); }),
             Contains("local header lies outside the file"));
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.central[1] + 42, uint32_t(lay.local[0])); }),
             Contains("local header names a different file"));
  CHECK(broken([&](Bytes& b) {
          put32(b, lay.central[1] + 20, 5000);
          put32(b, lay.central[1] + 24, 5000);
        }) == "entry 'archive/data/0' data lies outside the file");
  CHECK_THAT(broken([&](Bytes& b) { put16(b, lay.central[0] + 10, 99); }),
             Equals("entry 'archive/data.pkl' uses unsupported compression method 99"));
  CHECK_THAT(broken([&](Bytes& b) { put16(b, lay.central[0] + 8, 1); }), Equals("entry 'archive/data.pkl' is encrypted"));
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.central[0] + 20, 99); }), Contains("sizes differ"));
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.central[0], 0x12345678); }), Contains("bad signature"));
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.local[1], 0x12345678); }), Contains("bad local header signature"));
  CHECK_THAT(broken([&](Bytes& b) {
               put16(b, lay.eocd + 8, 0xFFFF);
               put16(b, lay.eocd + 10, 0xFFFF);
             }),
             Contains("central directory too small"));
  CHECK_THAT(broken([&](Bytes& b) { put16(b, lay.eocd + 4, 1); }), Contains("multi-disk"));
  CHECK_THAT(broken([&](Bytes& b) { put16(b, lay.eocd + 8, 1); }), Contains("multi-disk"));
  // The central directory's first entry points into itself / the end records.
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.eocd + 16, uint32_t(lay.central[1])); }),
             Equals("truncated: central directory extends past end of file"));
  // Entry 0 claims a comment that runs into the end of the directory.
  CHECK(broken([&](Bytes& b) { put16(b, lay.central[0] + 32, 50); }) ==
        "truncated: central directory entry 1 extends past the directory");
  CHECK(broken([&](Bytes& b) { put16(b, lay.central[0] + 32, 100); }) ==
        "truncated: central directory entry 0 extends past the directory");
  CHECK_THAT(broken([&](Bytes& b) { put32(b, lay.eocd + 12, uint32_t(b.size() - lay.cd)); }),
             Contains("overlaps the end records"));

  {  // too many entries for the limit
    pth::ZipLimits limits;
    limits.max_entries = 1;
    CHECK_THAT(parse_error(dir, base, limits), Equals("too many entries (2; the limit is 1)"));
  }
  {  // duplicate names
    const Bytes dup = make_zip({{"a/x", pattern(10, 1)}, {"a/x", pattern(10, 2)}});
    CHECK(parse_error(dir, dup) == "duplicate entry 'a/x'");
  }
  {  // control characters in names stay on one line
    const Bytes odd = make_zip({{"a\nb", pattern(10, 1)}});
    CHECK(parse_error(dir, odd) == "<no error>");
    Bytes enc = odd;
    put16(enc, enc.size() - 22 - (46 + 3) + 8, 1);
    CHECK(parse_error(dir, enc) == "entry 'a\\x0ab' is encrypted");
  }
  {  // overlapping entries: b's local header and data sit inside a's data
    Out inner;
    const Bytes payload = pattern(16, 3);
    inner.u32(0x04034b50).u16(20).u16(0).u16(0).u16(0).u16(0).u32(crc_of(payload)).u32(16).u32(16).u16(1).u16(0);
    inner.raw(std::string("b")).raw(payload);
    Layout l2;
    Bytes zip = make_zip({{"a", inner.b}, {"b", payload}}, &l2);
    put32(zip, l2.central[1] + 42, uint32_t(l2.local[0] + 30 + 1));
    CHECK(parse_error(dir, zip) == "entry 'a' overlaps entry 'b'");
  }
  {  // extra fields that run past their bounds
    Layout l2;
    Bytes zip = make_zip({{"r/a", pattern(10, 1)}}, &l2, true);
    Bytes bad_len = zip;
    put16(bad_len, l2.central[0] + 46 + 3 + 2, 200);
    CHECK_THAT(parse_error(dir, bad_len), Contains("malformed extra field"));
    Bytes short64 = zip;
    put16(short64, l2.central[0] + 46 + 3 + 2, 16);  // 2 of 3 values; offset missing
    CHECK_THAT(parse_error(dir, short64), Contains("truncated zip64 extra field"));
  }
  {  // bogus zip64 locators and records
    Layout l2;
    const Bytes zip = make_zip(good, &l2, true);
    REQUIRE(parse_error(dir, zip) == "<no error>");
    Bytes past = zip;
    put64(past, l2.locator + 8, past.size() + 1000);
    CHECK_THAT(parse_error(dir, past), Contains("bad zip64 locator"));
    Bytes huge = zip;
    put64(huge, l2.locator + 8, ~uint64_t(0) - 10);
    CHECK_THAT(parse_error(dir, huge), Contains("bad zip64 locator"));
    Bytes wrong = zip;
    put64(wrong, l2.locator + 8, l2.cd);
    CHECK_THAT(parse_error(dir, wrong), Contains("bad zip64 locator"));
    Bytes rec_size = zip;
    put64(rec_size, l2.end64 + 4, 1u << 30);
    CHECK_THAT(parse_error(dir, rec_size), Contains("zip64 end of central directory record size"));
    Bytes count = zip;
    put64(count, l2.end64 + 24, uint64_t(1) << 40);
    put64(count, l2.end64 + 32, uint64_t(1) << 40);
    CHECK_THAT(parse_error(dir, count), Contains("too many entries"));
    Bytes cd_off = zip;
    put64(cd_off, l2.end64 + 48, ~uint64_t(0) - 3);
    CHECK(parse_error(dir, cd_off) == "truncated: central directory extends past end of file");
  }
}

TEST_CASE("ZipReader survives every truncation and many byte mutations", "[zip]") {
  TempDir dir;
  const std::string path = dir.file("small.zip");
  {
    pth::AtomicFile out(path);
    pth::ZipWriter zip(out, 64);
    const Bytes a = str_bytes("pickle bytes"), b = str_bytes("0123456789abcdef"), c = str_bytes("3\n");
    zip.add("archive/data.pkl", view(a));
    zip.add("archive/data/0", view(b));
    zip.add("archive/version", view(c));
    zip.finish();
    out.commit();
  }
  const Bytes zip = read_file(path);
  REQUIRE(zip.size() > 300);

  for (size_t n = 0; n < zip.size(); ++n) {
    const std::string message = parse_error(dir, Bytes(zip.begin(), zip.begin() + long(n)));
    INFO("prefix " << n);
    REQUIRE(message != "<no error>");
  }

  // Mutated files either parse or throw pth::Error; whatever parses reads safely.
  size_t parsed = 0, refused = 0;
  for (size_t i = 0; i < zip.size(); ++i) {
    for (int variant = 0; variant < 3; ++variant) {
      Bytes m = zip;
      m[i] = variant == 0 ? 0x00 : variant == 1 ? 0xFF : uint8_t(m[i] ^ 0x80);
      if (m == zip) continue;
      auto file = map_bytes(dir, m);
      try {
        pth::ZipReader reader(file);
        ++parsed;
        for (const auto& e : reader.entries()) {
          try {
            (void)reader.read(e, 1 << 20);
            (void)reader.crc_matches(e);
          } catch (const pth::FormatError&) {
          }
        }
      } catch (const pth::FormatError&) {
        ++refused;
      }
    }
  }
  CHECK(parsed > 0);
  CHECK(refused > 0);
}

TEST_CASE("Python's zipfile and our zips read each other", "[zip][python]") {
  if (!python3_or_skip()) return;
  TempDir dir;
  const std::string ours = dir.file("ours.pth");
  const auto samples = sample_entries();
  write_samples(ours, samples, 64);
  // Python checks every CRC (testzip) and lists names and sizes.
  const std::string listing = dir.file("listing.txt");
  REQUIRE(run_python(dir,
                     "import sys, zipfile\n"
                     "z = zipfile.ZipFile(sys.argv[1])\n"
                     "assert z.testzip() is None\n"
                     "open(sys.argv[2], 'w').write(''.join('%s %d\\n' % (i.filename, len(z.read(i))) for i in z.infolist()))\n",
                     ours + " " + listing) == 0);
  std::string expected;
  for (const Sample& s : samples) expected += s.name + " " + std::to_string(s.whole().size()) + "\n";
  const Bytes got = read_file(listing);
  CHECK(std::string(got.begin(), got.end()) == expected);

  const std::string theirs = dir.file("theirs.zip");
  REQUIRE(run_python(dir,
                     "import sys, zipfile\n"
                     "with zipfile.ZipFile(sys.argv[1], 'w') as z:\n"
                     "    z.writestr('t/stored', bytes(range(256)) * 3, compress_type=zipfile.ZIP_STORED)\n"
                     "    z.writestr('t/deflated', b'hello world ' * 5000, compress_type=zipfile.ZIP_DEFLATED)\n"
                     "    z.writestr('t/empty', b'')\n"
                     "    z.comment = b'a comment'\n",
                     theirs) == 0);
  pth::ZipReader reader(pth::MappedFile::open(theirs));
  REQUIRE(reader.entries().size() == 3);
  Bytes stored;
  for (int k = 0; k < 3; ++k)
    for (int i = 0; i < 256; ++i) stored.push_back(uint8_t(i));
  Bytes hello;
  for (int k = 0; k < 5000; ++k) {
    const std::string s = "hello world ";
    hello.insert(hello.end(), s.begin(), s.end());
  }
  const pth::ZipEntry* s = reader.find("t/stored");
  const pth::ZipEntry* d = reader.find("t/deflated");
  const pth::ZipEntry* e = reader.find("t/empty");
  REQUIRE((s && d && e));
  CHECK(copy(reader.stored_view(*s)) == stored);
  CHECK(d->method == 8);
  CHECK(reader.read(*d, 1 << 20) == hello);
  CHECK(reader.read(*e, 0).empty());
  for (const auto& entry : reader.entries()) CHECK(reader.crc_matches(entry));
}

TEST_CASE("ZipReader reads a real torch.save file", "[zip][python]") {
  if (!python3_or_skip()) return;
  TempDir dir;
  const std::string path = dir.file("tensors.pth");
  const int rc = run_python(dir,
                            "import sys\n"
                            "try:\n"
                            "    import torch\n"
                            "except ImportError:\n"
                            "    sys.exit(77)\n"
                            "torch.save({'w': torch.arange(10, dtype=torch.float32)}, sys.argv[1])\n",
                            path);
  if (rc == 77) {
    WARN("python3 has no torch: skipped");
    return;
  }
  REQUIRE(rc == 0);
  pth::ZipReader reader(pth::MappedFile::open(path));
  const pth::ZipEntry* data = reader.find("tensors/data/0");
  REQUIRE(data != nullptr);
  REQUIRE(reader.find("tensors/data.pkl") != nullptr);
  CHECK(data->data_offset % 64 == 0);
  const pth::ByteView v = reader.stored_view(*data);
  REQUIRE(v.size == 40);
  float values[10];
  std::memcpy(values, v.data, sizeof values);
  for (int i = 0; i < 10; ++i) CHECK(values[i] == float(i));
  for (const auto& e : reader.entries()) CHECK(reader.crc_matches(e));
}
