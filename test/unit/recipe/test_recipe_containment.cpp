// Recipe files come only from inside the recipe folders: `defaults:` entries,
// --config-name and `group=option` overrides are relative paths without `..`, `.` or
// empty segments, a symbolic link is followed only while it stays inside the folders, and
// what is found must be a regular file (a FIFO is refused at once, not waited on).
#include <catch2/catch.hpp>

#include <filesystem>

#include <sys/stat.h>

#include "recipe_files.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kOutside = "; names must stay inside the recipe folders";

// A recipe folder `recipes/` next to a YAML file outside it that every escape aims at.
struct Folders {
  TempDir top;
  std::string recipes = (top.path() / "recipes").string();
  std::string outside = write_recipe_file(top, "secret.yaml", "secret: 42\n");
  Folders() { fs::create_directories(recipes); }

  std::string write(const std::string& relative, const std::string& text) const {
    const fs::path path = fs::path(recipes) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  sg::Recipe compose(const std::string& name, std::vector<std::string> overrides = {}) const {
    return sg::compose_recipe({name, {recipes}, std::move(overrides)});
  }
  std::string error(const std::string& name, std::vector<std::string> overrides = {}) const {
    return recipe_error([&] { compose(name, std::move(overrides)); });
  }
};

}  // namespace

TEST_CASE("defaults entries may not climb out of the recipe folders") {
  Folders f;
  const std::string main = f.write("main.yaml", "defaults:\n  - ../secret\n");
  CHECK(f.error("main") ==
        "recipe file '" + main + "': defaults entry '../secret': '../secret' has a '..' segment" + kOutside);

  const std::string option = f.write("option.yaml", "defaults:\n  - training_hyperparams: ../../secret\n");
  CHECK(f.error("option") == "recipe file '" + option +
                                 "': defaults entry 'training_hyperparams: ../../secret': '../../secret' has a '..' "
                                 "segment" + kOutside);

  const std::string group = f.write("group.yaml", "defaults:\n  - ../x: secret\n");
  CHECK(f.error("group") == "recipe file '" + group + "': defaults entry '../x: secret': '../x' has a '..' segment" + kOutside);

  // In a group file too, and inside a name where it would stay in the folder.
  f.write("g/a.yaml", "x: 1\n");
  const std::string nested = f.write("g/opt.yaml", "defaults:\n  - sub/../a\n");
  f.write("uses_group.yaml", "defaults:\n  - g: opt\n");
  CHECK(f.error("uses_group") == "recipe file '" + nested + "': defaults entry 'sub/../a': 'sub/../a' has a '..' segment" + kOutside);
}

TEST_CASE("defaults entries may not be absolute paths or have empty or '.' segments") {
  Folders f;
  const std::string absolute = f.write("absolute.yaml", "defaults:\n  - " + f.outside + "\n");
  CHECK(f.error("absolute") == "recipe file '" + absolute + "': defaults entry '" + f.outside + "': '" +
                                   f.outside.substr(0, f.outside.size() - 5) + "' is an absolute path" + kOutside);
  f.write("absolute_group.yaml", "defaults:\n  - /dataset_params: x\n");
  CHECK_THAT(f.error("absolute_group"), Catch::EndsWith("'/dataset_params' is an absolute path" + kOutside));
  f.write("empty.yaml", "defaults:\n  - dataset_params: a//b\n");
  CHECK_THAT(f.error("empty"), Catch::EndsWith("'a//b' has an empty segment" + kOutside));
  f.write("trailing.yaml", "defaults:\n  - dataset_params/: b\n");
  CHECK_THAT(f.error("trailing"), Catch::EndsWith("'dataset_params/' has an empty segment" + kOutside));
  f.write("dot.yaml", "defaults:\n  - ./dot\n");
  CHECK_THAT(f.error("dot"), Catch::EndsWith("'./dot' has a '.' segment" + kOutside));
  f.write("nul.yaml", "defaults:\n  - \"a\\0b\"\n");
  CHECK_THAT(f.error("nul"), Catch::EndsWith("defaults entry 'a\\x00b': 'a\\x00b' has a NUL byte" + kOutside));
}

TEST_CASE("the recipe name and group=option overrides stay inside the recipe folders") {
  Folders f;
  CHECK(f.error("../secret") == "recipe '../secret': the name has a '..' segment" + kOutside);
  CHECK(f.error(f.outside) == "recipe '" + f.outside.substr(0, f.outside.size() - 5) + "': the name is an absolute path" + kOutside);
  CHECK(f.error("a//b") == "recipe 'a//b': the name has an empty segment" + kOutside);

  f.write("main.yaml", "defaults:\n  - dataset_params: fine\n");
  f.write("dataset_params/fine.yaml", "root: /data\n");
  CHECK(f.compose("main", {"dataset_params=fine"}).get<std::string>("dataset_params.root") == "/data");
  CHECK_THAT(f.error("main", {"dataset_params=../../secret"}),
             Catch::EndsWith("override 'dataset_params=../../secret': '../../secret' has a '..' segment" + kOutside));
  // Subfolders are fine.
  f.write("sub/inner.yaml", "defaults:\n  - dataset_params: deeper/fine\n");
  f.write("dataset_params/deeper/fine.yaml", "root: /deeper\n");
  CHECK(f.compose("sub/inner").get<std::string>("dataset_params.root") == "/deeper");
}

TEST_CASE("symbolic links are followed inside the recipe folders and not out of them") {
  Folders f;
  f.write("training_hyperparams/base.yaml", "max_epochs: 3\n");
  fs::create_directory_symlink("training_hyperparams", fs::path(f.recipes) / "th_alias");
  fs::create_symlink("base.yaml", fs::path(f.recipes) / "training_hyperparams" / "linked.yaml");
  f.write("inside.yaml", "defaults:\n  - training_hyperparams: linked\n  - th_alias: base\n");
  const sg::Recipe inside = f.compose("inside");
  CHECK(inside.get<int>("training_hyperparams.max_epochs") == 3);
  CHECK(inside.get<int>("th_alias.max_epochs") == 3);

  fs::create_symlink(f.outside, fs::path(f.recipes) / "training_hyperparams" / "escape.yaml");
  const std::string main = f.write("main.yaml", "defaults:\n  - training_hyperparams: escape\n");
  const std::string link = (fs::path(f.recipes) / "training_hyperparams" / "escape.yaml").string();
  CHECK(f.error("main") == "recipe file '" + main + "': defaults entry 'training_hyperparams: escape': '" + link +
                               "' leads outside the recipe folders (to '" + fs::canonical(f.outside).string() + "')");

  fs::create_directory_symlink(f.top.path(), fs::path(f.recipes) / "up");
  f.write("via_dir.yaml", "defaults:\n  - up: secret\n");
  CHECK_THAT(f.error("via_dir"), Catch::Contains("leads outside the recipe folders"));

  fs::create_symlink(f.outside, fs::path(f.recipes) / "primary.yaml");
  CHECK_THAT(f.error("primary"), Catch::StartsWith("recipe 'primary': '") && Catch::Contains("leads outside the recipe folders"));

  // A recipe folder given as a link is the folder it leads to.
  const fs::path folder_link = f.top.path() / "link_to_recipes";
  fs::create_directory_symlink(f.recipes, folder_link);
  CHECK(sg::compose_recipe({"inside", {folder_link.string()}, {}}).get<int>("th_alias.max_epochs") == 3);
  CHECK_THAT(recipe_error([&] { sg::compose_recipe({"main", {folder_link.string()}, {}}); }),
             Catch::Contains("leads outside the recipe folders"));
}

TEST_CASE("a FIFO where a recipe file should be is refused at once by name") {
  Folders f;
  const std::string fifo = (fs::path(f.recipes) / "pipe.yaml").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(f.error("pipe") == "cannot read recipe file '" + fifo + "': not a regular file");
  const std::string group_fifo = (fs::path(f.recipes) / "g" / "pipe.yaml").string();
  fs::create_directories(fs::path(f.recipes) / "g");
  REQUIRE(::mkfifo(group_fifo.c_str(), 0600) == 0);
  f.write("main.yaml", "defaults:\n  - g: pipe\n");
  CHECK(f.error("main") == "cannot read recipe file '" + group_fifo + "': not a regular file");
}
