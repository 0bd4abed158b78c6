// pth::Folder (no link followed inside), AtomicFile in a folder: no-replace commits,
// leftovers of killed writers, temp files removed from a signal handler, commit hooks.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"
#include "pth/folder.hpp"
#include "pth/termination.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

void put(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

void write_all(pth::AtomicFile& f, const std::string& text) { f.write(pth::ByteView(text.data(), text.size())); }

std::vector<std::string> temps_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const std::string& name : names_in(dir))
    if (pth::AtomicFile::is_temp_name(name)) out.push_back(name);
  return out;
}

}  // namespace

TEST_CASE("Folder opens names inside without following links") {
  TempDir dir, outside;
  put(outside.path() / "victim", "theirs");
  fs::create_directory_symlink(outside.path(), dir.path() / "sub");
  fs::create_symlink(outside.path() / "victim", dir.path() / "file");
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  CHECK_THROWS_WITH(folder.child("sub", true), Contains("sub") && Contains("symbolic link"));
  CHECK(folder.open_file("file", O_WRONLY | O_APPEND) < 0);
  CHECK(errno == ELOOP);
  CHECK(folder.exists("file"));
  CHECK_FALSE(folder.is_regular_file("file"));
  CHECK(folder.remove("file"));   // the link itself
  CHECK(file_contents(outside.path() / "victim") == "theirs");
  const pth::Folder made = folder.child("made", true);
  CHECK(fs::is_directory(dir.path() / "made"));
  CHECK(made.path() == (dir.path() / "made").string());
}

TEST_CASE("path components from recipes and flags") {
  CHECK(pth::path_component_problem("ckpt_best.pth").empty());
  CHECK(pth::path_component_problem(std::string(255, 'x')).empty());
  CHECK_THAT(pth::path_component_problem(std::string(256, 'x')), Contains("256 bytes long"));
  CHECK_THAT(pth::path_component_problem(".."), Contains("not a name of its own"));
  CHECK_THAT(pth::path_component_problem("."), Contains("not a name of its own"));
  CHECK_THAT(pth::path_component_problem("../../victim"), Contains("'/'"));
  CHECK_THAT(pth::path_component_problem(""), Contains("empty"));
  CHECK_THAT(pth::path_component_problem(std::string("a\0b", 3)), Contains("NUL"));
}

TEST_CASE("AtomicFile in a folder replaces a link at its name, never writes through it") {
  TempDir dir, outside;
  put(outside.path() / "victim", "theirs");
  fs::create_symlink(outside.path() / "victim", dir.path() / "ckpt.pth");
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  pth::AtomicFile f(folder, "ckpt.pth");
  write_all(f, "ours");
  f.commit();
  CHECK_FALSE(fs::is_symlink(dir.path() / "ckpt.pth"));
  CHECK(file_contents(dir.path() / "ckpt.pth") == "ours");
  CHECK(file_contents(outside.path() / "victim") == "theirs");
}

TEST_CASE("AtomicFile without replace refuses a file that appeared meanwhile") {
  TempDir dir;
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  pth::AtomicFile f(folder, "out.pth", /*replace=*/false);
  write_all(f, "mine");
  put(dir.path() / "out.pth", "someone else's");
  CHECK_THROWS_WITH(f.commit(), Contains("appeared while it was being written"));
  CHECK(file_contents(dir.path() / "out.pth") == "someone else's");
  {
    pth::AtomicFile g(folder, "new.pth", /*replace=*/false);
    write_all(g, "fresh");
    g.commit();
  }
  CHECK(file_contents(dir.path() / "new.pth") == "fresh");
}

TEST_CASE("AtomicFile temp names fit NAME_MAX whatever the target's length") {
  TempDir dir;
  const std::string name(250, 'n');
  pth::AtomicFile f(pth::Folder::open(dir.path().string()), name);
  write_all(f, "x");
  const auto temps = temps_in(dir.path());
  REQUIRE(temps.size() == 1);
  CHECK(temps[0].size() <= 255);
  f.commit();
  CHECK(file_contents(dir.path() / name) == "x");
}

TEST_CASE("AtomicFile removes the leftovers of killed writers of its target, not of live ones") {
  TempDir dir;
  put(dir.path() / ".out.pth.tmp-99999999-3", "killed writer");   // above any pid_max
  put(dir.path() / ".out.pth.tmp-1-0", "pid 1 is alive");
  put(dir.path() / ".other.pth.tmp-99999999-3", "another target's");
  {
    pth::AtomicFile f(dir.file("out.pth"));
    write_all(f, "x");
    f.commit();
  }
  CHECK_FALSE(fs::exists(dir.path() / ".out.pth.tmp-99999999-3"));
  CHECK(fs::exists(dir.path() / ".out.pth.tmp-1-0"));
  CHECK(fs::exists(dir.path() / ".other.pth.tmp-99999999-3"));
  pth::AtomicFile::remove_leftovers(pth::Folder::open(dir.path().string()));
  CHECK_FALSE(fs::exists(dir.path() / ".other.pth.tmp-99999999-3"));
  CHECK(fs::exists(dir.path() / ".out.pth.tmp-1-0"));
}

TEST_CASE("a termination signal removes the temp files of writes in flight") {
  TempDir dir;
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    pth::end_cleanly_on_termination_signals();
    pth::AtomicFile f(dir.file("out.pth"));
    write_all(f, "half");
    ::raise(SIGTERM);
    ::_exit(0);   // not reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  CHECK(temps_in(dir.path()).empty());
  CHECK_FALSE(fs::exists(dir.path() / "out.pth"));
}

TEST_CASE("a commit hook sees every commit around its rename and can fail it") {
  static std::vector<std::string> seen;
  seen.clear();
  pth::set_commit_hook([](pth::CommitStage stage, const std::string& target) {
    seen.push_back((stage == pth::CommitStage::BeforeRename ? "before " : "after ") + fs::path(target).filename().string());
    if (stage == pth::CommitStage::BeforeRename && fs::path(target).filename() == "fails.pth")
      throw pth::NoSpaceError("write failed: injected");
  });
  TempDir dir;
  {
    pth::AtomicFile f(dir.file("ok.pth"));
    f.commit();
    pth::AtomicFile g(dir.file("fails.pth"));
    CHECK_THROWS_AS(g.commit(), pth::NoSpaceError);
  }
  pth::set_commit_hook(nullptr);
  CHECK(seen == std::vector<std::string>{"before ok.pth", "after ok.pth", "before fails.pth"});
  CHECK_FALSE(fs::exists(dir.path() / "fails.pth"));
  CHECK(temps_in(dir.path()).empty());
}

TEST_CASE("AtomicFile::add_name gives a written file another name, atomically, by a hard link") {
  TempDir dir, outside;
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  put(dir.path() / "ckpt_best.pth", "epoch 3");
  put(dir.path() / "ckpt_latest.pth", "epoch 2");
  pth::AtomicFile::add_name(folder, "ckpt_best.pth", "ckpt_latest.pth");   // replaces the old file
  CHECK(file_contents(dir.path() / "ckpt_latest.pth") == "epoch 3");
  CHECK(fs::equivalent(dir.path() / "ckpt_best.pth", dir.path() / "ckpt_latest.pth"));
  CHECK(fs::hard_link_count(dir.path() / "ckpt_best.pth") == 2);
  CHECK(temps_in(dir.path()).empty());

  // A later write of one name replaces that name only.
  pth::AtomicFile next(folder, "ckpt_latest.pth");
  write_all(next, "epoch 4");
  next.commit();
  CHECK(file_contents(dir.path() / "ckpt_best.pth") == "epoch 3");
  CHECK(file_contents(dir.path() / "ckpt_latest.pth") == "epoch 4");

  // A symbolic link planted as the existing name is linked itself, never what it points to.
  put(outside.path() / "victim", "theirs");
  fs::create_symlink(outside.path() / "victim", dir.path() / "planted");
  pth::AtomicFile::add_name(folder, "planted", "copy");
  CHECK(fs::is_symlink(dir.path() / "copy"));
  CHECK(fs::hard_link_count(outside.path() / "victim") == 1);

  CHECK_THROWS_WITH(pth::AtomicFile::add_name(folder, "missing.pth", "other.pth"),
                    Contains("cannot link") && Contains("other.pth") && Contains("missing.pth"));
  CHECK_FALSE(fs::exists(dir.path() / "other.pth"));
  CHECK(temps_in(dir.path()).empty());
}
