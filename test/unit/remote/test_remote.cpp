// lib/remote: what a location string means, and the mirror's uploads through the real
// rclone (its local backend, `:local:`, stands in for a server: the transfers, the
// temporary name and the move are rclone's own).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "memory_tensor.hpp"
#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/temporary_folder.hpp"
#include "pth/sha256.hpp"
#include "remote/cached_download.hpp"
#include "remote/local_copy.hpp"
#include "remote/location.hpp"
#include "remote/mirror.hpp"
#include "remote/process.hpp"
#include "remote/remote_error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("locations: rclone remotes, on-the-fly remotes and s3:// from the AWS environment") {
  CHECK(remote::is_remote("store:bucket/runs"));
  CHECK(remote::is_remote(":s3,provider=Minio:bucket"));
  CHECK(remote::is_remote("s3://bucket/prefix"));
  CHECK_FALSE(remote::is_remote("/data/runs"));
  CHECK_FALSE(remote::is_remote("./a:b"));
  CHECK_FALSE(remote::is_remote("runs"));

  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", 1);
  ::setenv("AWS_REGION", "eu-west-1", 1);
  const remote::Location s3 = remote::parse_location("s3://bucket/runs");
  ::unsetenv("AWS_ENDPOINT_URL");
  ::unsetenv("AWS_REGION");
  CHECK(s3.path == ":s3:bucket/runs");
  const std::vector<std::string> flags = {"--s3-provider", "Other", "--s3-env-auth", "--s3-endpoint",
                                          "http://127.0.0.1:9000", "--s3-region", "eu-west-1"};
  CHECK(s3.flags == flags);
  CHECK(s3.child("exp/RUN_1").path == ":s3:bucket/runs/exp/RUN_1");
  CHECK(s3.child("exp/RUN_1").shown == "s3://bucket/runs/exp/RUN_1");
  CHECK(remote::parse_location("store:").child("a").path == "store:a");

  CHECK_THROWS_WITH(remote::parse_location("s3://"), Catch::Matchers::Contains("names no bucket"));
  CHECK_THROWS_WITH(remote::parse_location("/data/runs"), Catch::Matchers::Contains("not a remote location"));
  CHECK_THROWS_WITH(remote::parse_location("https://host/x"), Catch::Matchers::Contains("web address"));
  CHECK_THROWS_WITH(remote::parse_location(":s3"), Catch::Matchers::Contains("on-the-fly"));
}

TEST_CASE("file locations: web addresses as rclone's HTTP backend at the file's folder") {
  const remote::Location web = remote::parse_file_location("https://host:8080/zoo/resnet18.pth");
  CHECK(web.path == ":http:resnet18.pth");
  CHECK(web.flags == std::vector<std::string>{"--http-url", "https://host:8080/zoo/"});
  CHECK(web.shown == "https://host:8080/zoo/resnet18.pth");
  CHECK(remote::is_remote_file("http://host/a.pth"));
  CHECK_FALSE(remote::is_remote_file("/data/a.pth"));
  CHECK(remote::parse_file_location("s3://bucket/a.pth").path == ":s3:bucket/a.pth");
  CHECK_THROWS_WITH(remote::parse_file_location("https://host/"), Catch::Matchers::Contains("names no file"));
  CHECK_THROWS_WITH(remote::parse_file_location("https://host"), Catch::Matchers::Contains("names no file"));
  CHECK_THROWS_WITH(remote::parse_file_location("https://host/a.pth?sig=1"), Catch::Matchers::Contains("query"));
}

TEST_CASE("a local copy of a remote file, gone with its object") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  const std::string source = dir.write("ckpt.pth", "weights");
  const remote::Rclone rclone;
  std::string copied;
  {
    const remote::LocalCopy copy(remote::parse_location(":local:" + source), rclone);
    copied = copy.path();
    CHECK(fs::path(copied).filename() == "ckpt.pth");
    CHECK(file_contents(copied) == "weights");
  }
  CHECK_FALSE(fs::exists(fs::path(copied).parent_path()));
  CHECK_THROWS_WITH(remote::LocalCopy(remote::parse_location(":local:" + dir.file("none.pth")), rclone),
                    Catch::Matchers::Contains("none.pth"));
}

TEST_CASE("a temporary folder is private and goes with everything in it") {
  std::string made;
  {
    const pth::TemporaryFolder folder("sg-test-");
    made = folder.path();
    CHECK(fs::path(made).filename().string().rfind("sg-test-", 0) == 0);
    CHECK((fs::status(made).permissions() & fs::perms::all) == fs::perms::owner_all);
    write_text(folder.file("a/b.txt"), "x");
  }
  CHECK_FALSE(fs::exists(made));
  const char* before = std::getenv("TMPDIR");
  const std::string saved = before ? before : "";
  ::setenv("TMPDIR", "/nonexistent/folder", 1);
  CHECK_THROWS_WITH(pth::TemporaryFolder("sg-test-"), Catch::Matchers::Contains("cannot make a temporary folder /nonexistent/folder/sg-test-"));
  if (before) ::setenv("TMPDIR", saved.c_str(), 1);
  else ::unsetenv("TMPDIR");
}

TEST_CASE("a partial copy fetches a checkpoint's listing in a few blocks, its data when read") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  // Four 4 MB tensors: the listing lies in the first and the last blocks of 16 MB.
  constexpr int64_t kFloats = int64_t(1) << 20;
  pth::Value net = pth::Value::dict(true);
  for (int i = 0; i < 4; ++i)
    net.as_dict().set("layer" + std::to_string(i) + ".weight",
                      pth::Value::tensor(tensor_of(pth::DType::Float32, std::vector<float>(size_t(kFloats), float(i) + 0.5f), {kFloats})));
  pth::Value root = pth::Value::dict();
  root.as_dict().set("net", net);
  root.as_dict().set("epoch", pth::Value::integer(7));
  const std::string source = dir.file("ckpt.pth");
  pth::write_checkpoint(source, root);

  const remote::PartialCopy copy(remote::parse_location(":local:" + source), remote::Rclone());
  CHECK(copy.file()->view().size == fs::file_size(source));
  const pth::Checkpoint read = pth::read_checkpoint(copy.file());
  CHECK(read.root.as_dict().find("epoch")->as_int() == 7);
  REQUIRE(read.storages.size() == 4);
  const uint64_t listed = copy.bytes_fetched();
  CHECK(listed > 0);
  CHECK(listed <= 4 * remote::PartialCopy::kBlockBytes);

  // One record's data: fetched (about its size), CRC-checked, equal to what was written.
  const pth::ByteView data = read.storages[2]->data->bytes();
  REQUIRE(data.size == size_t(kFloats) * 4);
  float third;
  std::memcpy(&third, data.data + data.size - 4, 4);
  CHECK(third == 2.5f);
  CHECK(copy.bytes_fetched() - listed >= data.size);
  CHECK(copy.bytes_fetched() - listed <= data.size + 2 * remote::PartialCopy::kBlockBytes);

  CHECK_THROWS_WITH(remote::PartialCopy(remote::parse_location(":local:" + dir.file("none.pth")), remote::Rclone()),
                    Catch::Matchers::Contains("none.pth"));
}

TEST_CASE("a stand-in's local headers are checked when its records are read") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  pth::Value root = pth::Value::dict();
  root.as_dict().set("w", pth::Value::tensor(tensor_of(pth::DType::Float32, std::vector<float>(1000, 1.0f), {1000})));
  const std::string source = dir.file("ckpt.pth");
  pth::write_checkpoint(source, root);
  // The storage record's local header loses its signature: the listing does not read it.
  std::string bytes = file_contents(source);
  const size_t record = bytes.find("ckpt/data/0");
  REQUIRE(record != std::string::npos);
  const size_t signature = bytes.rfind(std::string("PK\3\4", 4), record);
  REQUIRE(signature != std::string::npos);
  bytes[signature + 2] = 'X';
  std::ofstream(source, std::ios::binary | std::ios::trunc) << bytes;

  CHECK_THROWS_WITH(pth::read_checkpoint(source), Catch::Matchers::Contains("bad local header signature"));
  const remote::PartialCopy copy(remote::parse_location(":local:" + source), remote::Rclone());
  const pth::Checkpoint read = pth::read_checkpoint(copy.file());
  REQUIRE(read.storages.size() == 1);
  CHECK_THROWS_WITH(read.storages[0]->data->bytes(), Catch::Matchers::Contains("bad local header signature"));
}

TEST_CASE("a cached download is complete and has the sum asked for, or is not there") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  const std::string source = dir.write("zoo_resnet.pth", "weights v1");
  const std::string sum = pth::file_sha256(source);
  const std::string cache = dir.file("cache/sg-models");
  const remote::Rclone rclone;
  const remote::Location from = remote::parse_location(":local:" + source);

  const std::string cached = remote::cached_download(from, cache, "resnet.pth", sum, rclone);
  CHECK(cached == cache + "/resnet.pth");
  CHECK(file_contents(cached) == "weights v1");
  // Found in the cache: the remote file is not read again.
  fs::remove(source);
  CHECK(remote::cached_download(from, cache, "resnet.pth", sum, rclone) == cached);

  // A sum the file does not have: nothing is added, the cached copy stays as it was.
  dir.write("zoo_resnet.pth", "weights v2");
  CHECK_THROWS_WITH(remote::cached_download(from, cache, "other.pth", sum, rclone),
                    Catch::Matchers::Contains("SHA-256 is " + pth::file_sha256(source)) &&
                        Catch::Matchers::Contains(from.shown));
  CHECK(names_in(cache) == std::vector<std::string>{"resnet.pth"});
  // A cached copy whose sum is no longer the one asked for is replaced by the right file.
  const std::string v2 = remote::cached_download(from, cache, "resnet.pth", pth::file_sha256(source), rclone);
  CHECK(file_contents(v2) == "weights v2");
  CHECK(names_in(cache) == std::vector<std::string>{"resnet.pth"});
  // A missing remote file: an error naming it, the cache unchanged.
  CHECK_THROWS_WITH(remote::cached_download(remote::parse_location(":local:" + dir.file("none.pth")), cache, "none.pth",
                                            sum, rclone),
                    Catch::Matchers::Contains("none.pth"));
  CHECK(names_in(cache) == std::vector<std::string>{"resnet.pth"});
}

TEST_CASE("a program that is not there is one line saying how to install it") {
  CHECK_THROWS_WITH(remote::run_process({"/nonexistent/rclone", "version"}, "Debian's package rclone"),
                    Catch::Matchers::Contains("not installed (Debian's package rclone)"));
}

TEST_CASE("the mirror uploads each file once complete, the newest state of a name winning") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  const fs::path run = dir.path() / "run";
  const fs::path store = dir.path() / "store";
  write_text(run / "ckpt_latest.pth", "first");
  write_text(run / "averaging" / "snapshot_0.pth", "snapshot");
  write_text(run / "log.txt", "line 1\n");
  remote::Mirror mirror(run.string(), remote::parse_location(":local:" + store.string() + "/exp/RUN_1"));
  mirror.upload("ckpt_latest.pth", remote::Mirror::Snapshot::Link);
  // Replaced by rename, as checkpoints are: the link taken at upload() keeps "first".
  write_text(run / "next.tmp", "second");
  fs::rename(run / "next.tmp", run / "ckpt_latest.pth");
  mirror.upload("ckpt_latest.pth", remote::Mirror::Snapshot::Link);
  mirror.upload("averaging/snapshot_0.pth", remote::Mirror::Snapshot::Link);
  mirror.upload("log.txt", remote::Mirror::Snapshot::Copy);
  write_text(run / "gone.pth", "x");
  mirror.upload("gone.pth", remote::Mirror::Snapshot::Link);
  mirror.remove("gone.pth");
  const auto failures = mirror.finish(std::chrono::seconds(120), [](const std::string& said) { FAIL(said); });
  CHECK(failures.empty());
  const fs::path remote_run = store / "exp" / "RUN_1";
  CHECK(file_contents(remote_run / "ckpt_latest.pth") == "second");
  CHECK(file_contents(remote_run / "averaging" / "snapshot_0.pth") == "snapshot");
  CHECK(file_contents(remote_run / "log.txt") == "line 1\n");
  CHECK_FALSE(fs::exists(remote_run / "gone.pth"));
  CHECK_FALSE(fs::exists(remote_run / ".ckpt_latest.pth.partial"));
  CHECK_FALSE(fs::exists(run / ".uploads"));   // the snapshots are gone with the uploads
}

TEST_CASE("an upload that keeps failing is retried until finish() gives up, and named") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  const fs::path run = dir.path() / "run";
  write_text(run / "ckpt_latest.pth", "state");
  const fs::path blocked = dir.path() / "blocked";
  write_text(blocked, "a file where the remote folder should be");
  remote::Mirror mirror(run.string(), remote::parse_location(":local:" + blocked.string() + "/exp"));
  mirror.upload("ckpt_latest.pth", remote::Mirror::Snapshot::Link);
  std::vector<std::string> said;   // each failed attempt, as it happens
  const auto failures = mirror.finish(std::chrono::seconds(3), [&](const std::string& line) { said.push_back(line); });
  REQUIRE(failures.size() == 1);
  CHECK(failures[0].local_path == (run / "ckpt_latest.pth").string());
  CHECK(failures[0].remote.find("exp/ckpt_latest.pth") != std::string::npos);
  CHECK_FALSE(failures[0].error.empty());
  REQUIRE_FALSE(said.empty());
  CHECK(said[0].find("cannot upload " + (run / "ckpt_latest.pth").string()) == 0);
  CHECK(said[0].find("(attempt 1; trying again in 1 s)") != std::string::npos);
  CHECK(file_contents(run / "ckpt_latest.pth") == "state");
}
