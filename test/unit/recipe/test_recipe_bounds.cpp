// Recipe bombs: YAML aliases, `${}` references, overrides and `defaults:` lists that would
// multiply a few hundred bytes into millions of nodes or gigabytes of text, or nest without
// end, are refused by what they would build, before building it. Bounds (bounds.hpp):
// 50000 nodes, 1 MiB of text (and per file), 64 levels of nesting, 256 file loads, 256
// values resolving at once, 256 overrides.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "recipe_files.hpp"

namespace {

std::string n(int i) { return std::to_string(i); }

// The 413-byte (20 levels) and 575-byte (26 levels) kind: each list holds the one before
// twice, so that level L stands for 2^L scalars.
std::string alias_bomb(int levels) {
  std::string text = "a0: &a0 [x, x]\n";
  for (int i = 1; i < levels; ++i) text += "a" + n(i) + ": &a" + n(i) + " [*a" + n(i - 1) + ", *a" + n(i - 1) + "]\n";
  return text;
}

// The 651-byte kind: each string is the one before twice, through `${}` references.
std::string string_doubling_bomb(int levels) {
  std::string text = "s0: xxxxxxxxxxxxxxxx\n";
  for (int i = 1; i < levels; ++i) text += "s" + n(i) + ": ${s" + n(i - 1) + "}${s" + n(i - 1) + "}\n";
  return text;
}

// Each list holds two typed copies of the one before.
std::string copy_doubling_bomb(int levels) {
  std::string text = "l0: [x, x]\n";
  for (int i = 1; i < levels; ++i) text += "l" + n(i) + ": ['${l" + n(i - 1) + "}', '${l" + n(i - 1) + "}']\n";
  return text;
}

std::string nested_lists(std::size_t depth) { return "a: " + std::string(depth, '[') + std::string(depth, ']') + "\n"; }

}  // namespace

TEST_CASE("nested aliases are refused by the size they expand to without expanding them") {
  for (int levels : {20, 26, 60}) {
    INFO(levels << " levels");
    TempDir d;
    const std::string file = write_recipe_file(d, "bomb.yaml", alias_bomb(levels));
    CHECK(compose_error(d, "bomb") == "recipe file '" + file + "': aliases expand to more than 50000 nodes");
  }
  // A few hundred small aliases are what real recipes do.
  TempDir d;
  write_recipe_file(d, "ok.yaml", alias_bomb(12));
  CHECK(sg::compose_recipe({"ok", {d.path().string()}, {}}).node("a11").size() == 2);
}

TEST_CASE("aliases of a long string are refused by the text they expand to") {
  TempDir d;
  std::string text = "s: &s " + std::string(100000, 'x') + "\nl: [";
  for (int i = 0; i < 20; ++i) text += "*s, ";
  const std::string file = write_recipe_file(d, "bomb.yaml", text + "*s]\n");
  CHECK(compose_error(d, "bomb") == "recipe file '" + file + "': aliases expand to more than 1048576 bytes of text");
}

TEST_CASE("aliases of a node with a long tag are refused by the text they expand to") {
  TempDir d;
  std::string text = "t: &t !<" + std::string(100000, 't') + "> v\nm:\n";
  for (int i = 0; i < 20; ++i) text += "  k" + n(i) + ": *t\n";
  const std::string file = write_recipe_file(d, "bomb.yaml", text);
  CHECK(compose_error(d, "bomb") == "recipe file '" + file + "': aliases expand to more than 1048576 bytes of text");
}

TEST_CASE("an alias inside the node it names is refused") {
  TempDir d;
  const std::string file = write_recipe_file(d, "loop.yaml", "x: 1\na: &a [1, *a]\n");
  CHECK(compose_error(d, "loop") == "recipe file '" + file + "': line 2: alias refers to a node that contains it");
  write_recipe_file(d, "map_loop.yaml", "a: &a\n  b: *a\n");
  CHECK_THAT(compose_error(d, "map_loop"), Catch::Contains("line 2: alias refers to a node that contains it"));
}

TEST_CASE("nesting is bounded while parsing and through aliases") {
  TempDir d;
  write_recipe_file(d, "deep64.yaml", "a: " + std::string(63, '[') + std::string(63, ']') + "\n");
  CHECK(sg::compose_recipe({"deep64", {d.path().string()}, {}}).has("a"));
  const std::string file = write_recipe_file(d, "deep65.yaml", nested_lists(64));
  CHECK(compose_error(d, "deep65") == "recipe file '" + file + "': line 1: nested more than 64 levels deep");
  // Far deeper than the parser's own recursion could go.
  write_recipe_file(d, "deeper.yaml", nested_lists(100000));
  CHECK_THAT(compose_error(d, "deeper"), Catch::EndsWith("line 1: nested more than 64 levels deep"));
  // 40 + 40 levels through an alias.
  write_recipe_file(d, "alias_deep.yaml", "a: &a " + std::string(40, '[') + std::string(40, ']') + "\nb: " +
                                              std::string(40, '[') + "*a" + std::string(40, ']') + "\n");
  CHECK_THAT(compose_error(d, "alias_deep"), Catch::EndsWith("line 2: nested more than 64 levels deep"));
}

TEST_CASE("a string doubled through references is refused before it is built") {
  TempDir d;
  const std::string file = write_recipe_file(d, "bomb.yaml", string_doubling_bomb(36));
  const std::string msg = compose_error(d, "bomb");
  CHECK_THAT(msg, Catch::StartsWith("recipe 'bomb' (" + file + "): s"));
  CHECK_THAT(msg, Catch::EndsWith(": the recipe would have more than 1048576 bytes of text"));
  write_recipe_file(d, "ok.yaml", string_doubling_bomb(8));
  CHECK(sg::compose_recipe({"ok", {d.path().string()}, {}}).get<std::string>("s7").size() == 16u << 7);
}

TEST_CASE("values copied by references count against the node bound and the nesting bound") {
  TempDir d;
  write_recipe_file(d, "bomb.yaml", copy_doubling_bomb(30));
  CHECK_THAT(compose_error(d, "bomb"), Catch::EndsWith(": the recipe would have more than 50000 nodes"));

  std::string deep = "d0: 1\n";  // d<i> nests i deep
  for (int i = 1; i < 100; ++i) deep += "d" + n(i) + ": {x: '${d" + n(i - 1) + "}'}\n";
  const std::string file = write_recipe_file(d, "deep.yaml", deep);
  CHECK(compose_error(d, "deep") ==
        "recipe 'deep' (" + file + "): d64.x: '${d63}' would nest the recipe more than 64 levels deep");
}

TEST_CASE("references resolving through references are bounded in nesting") {
  TempDir d;
  std::string chain;  // each key refers to the next one, resolved first
  for (int i = 0; i < 1000; ++i) chain += "r" + n(i) + ": ${r" + n(i + 1) + "}\n";
  write_recipe_file(d, "chain.yaml", chain + "r1000: 1\n");
  CHECK_THAT(compose_error(d, "chain"), Catch::EndsWith(": interpolations nest more than 256 levels deep"));
  // The same chain written in the order it resolves nests no deeper than two.
  std::string ordered = "r1000: 1\n";
  for (int i = 999; i >= 0; --i) ordered += "r" + n(i) + ": ${r" + n(i + 1) + "}\n";
  write_recipe_file(d, "ordered.yaml", ordered);
  CHECK(sg::compose_recipe({"ordered", {d.path().string()}, {}}).get<int>("r0") == 1);
}

TEST_CASE("override values are parsed with the same bounds and overrides add up") {
  TempDir d;
  write_recipe_file(d, "main.yaml", "x: 1\n");
  std::string bomb = "+y=[&a0 [1, 1]";
  for (int i = 1; i < 30; ++i) bomb += ", &a" + n(i) + " [*a" + n(i - 1) + ", *a" + n(i - 1) + "]";
  bomb += "]";
  CHECK_THAT(compose_error(d, "main", {bomb}), Catch::EndsWith("override '" + bomb + "': aliases expand to more than 50000 nodes"));

  std::string deep_key = "+k";
  for (int i = 0; i < 64; ++i) deep_key += ".k";
  CHECK_THAT(compose_error(d, "main", {deep_key + "=1"}), Catch::EndsWith("override '" + deep_key + "=1': nested more than 64 levels deep"));
  CHECK_THAT(compose_error(d, "main", {"+k=" + std::string(64, '[') + std::string(64, ']')}),
             Catch::Contains("nested more than 64 levels deep"));

  std::string list = "[0";
  for (int i = 1; i < 300; ++i) list += ", " + n(i);
  std::vector<std::string> many;
  for (int i = 0; i < 200; ++i) many.push_back("+k" + n(i) + "=" + list + "]");
  CHECK_THAT(compose_error(d, "main", many), Catch::EndsWith("override '+k166=" + list + "]': the recipe would have more than 50000 nodes"));
  many.assign(257, "x=2");
  CHECK(compose_error(d, "main", many) == "recipe 'main' (" + (d.path() / "main.yaml").string() + "): more than 256 overrides");
}

TEST_CASE("defaults lists that load the same files again and again are refused") {
  TempDir d;
  // Each level lists the next four times: 4^10 loads from eleven small files.
  for (int level = 0; level < 10; ++level) {
    const std::string next = "f" + n(level + 1);
    write_recipe_file(d, "f" + n(level) + ".yaml", "defaults: [" + next + ", " + next + ", " + next + ", " + next + "]\n");
  }
  write_recipe_file(d, "f10.yaml", "x: 1\n");
  CHECK_THAT(compose_error(d, "f0"), Catch::EndsWith(": the defaults lists load more than 256 files (a file listed again counts again)"));
}

TEST_CASE("group options placed under many keys add up against the node bound") {
  TempDir d;
  std::string big;
  for (int i = 0; i < 15000; ++i) big += "k" + n(i) + ": " + n(i) + "\n";
  write_recipe_file(d, "a/big.yaml", big);
  const std::string second = write_recipe_file(d, "b/big.yaml", big);
  write_recipe_file(d, "main.yaml", "defaults:\n  - a: big\n  - b: big\n");
  CHECK(compose_error(d, "main") == "recipe file '" + second + "': the recipe would have more than 50000 nodes");
}

TEST_CASE("a group file placed under a deep group path may not nest past the bound") {
  TempDir d;
  std::string group = "g";
  for (int i = 0; i < 59; ++i) group += "/g";
  const std::string file = write_recipe_file(d, group + "/opt.yaml", "a: {b: {c: {d: {e: 1}}}}\n");
  write_recipe_file(d, "main.yaml", "defaults:\n  - " + group + ": opt\n");
  CHECK(compose_error(d, "main") == "recipe file '" + file + "': placed 60 keys deep, it nests more than 64 levels deep");
}

TEST_CASE("a stored recipe is read with the same bounds") {
  TempDir run;
  write_recipe_file(run, ".hydra/config.yaml", alias_bomb(26));
  const std::string config = (run.path() / ".hydra/config.yaml").string();
  CHECK(recipe_error([&] { sg::load_stored_recipe(run.path().string()); }) ==
        "'" + config + "': aliases expand to more than 50000 nodes");
}

TEST_CASE("a recipe file over 1 MiB is refused by its size") {
  TempDir d;
  const std::string file = write_recipe_file(d, "big.yaml", "a: " + std::string(1 << 20, 'x') + "\n");
  CHECK_THAT(compose_error(d, "big"), Catch::StartsWith("cannot read recipe file '" + file + "'") &&
                                          Catch::Contains("1048576"));
}
