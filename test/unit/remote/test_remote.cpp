// lib/remote: what a location string means, and the mirror's uploads through the real
// rclone (its local backend, `:local:`, stands in for a server: the transfers, the
// temporary name and the move are rclone's own).
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "remote/local_copy.hpp"
#include "remote/location.hpp"
#include "remote/mirror.hpp"
#include "remote/process.hpp"
#include "remote/remote_error.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

bool have_rclone() {
  try {
    return remote::run_process({"rclone", "version"}, "rclone").exit_status == 0;
  } catch (const remote::RemoteError&) {
    return false;
  }
}

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
  if (!have_rclone()) {
    WARN("rclone is not installed (scripts/setup installs it): skipped");
    return;
  }
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

TEST_CASE("a program that is not there is one line saying how to install it") {
  CHECK_THROWS_WITH(remote::run_process({"/nonexistent/rclone", "version"}, "Debian's package rclone"),
                    Catch::Matchers::Contains("not installed (Debian's package rclone)"));
}

TEST_CASE("the mirror uploads each file once complete, the newest state of a name winning") {
  if (!have_rclone()) {
    WARN("rclone is not installed (scripts/setup installs it): skipped");
    return;
  }
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
  if (!have_rclone()) {
    WARN("rclone is not installed (scripts/setup installs it): skipped");
    return;
  }
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
