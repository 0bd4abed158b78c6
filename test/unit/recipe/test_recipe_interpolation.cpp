// `${a.b}` references: typed copies, text substitution, chains, cycles, missing keys.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "recipe/recipe.hpp"
#include "temp_dir.hpp"

namespace {

sg::Recipe compose_text(const std::string& text, std::vector<std::string> overrides = {}) {
  TempDir d;
  std::ofstream(d.file("r.yaml")) << text;
  return sg::compose_recipe({"r", {d.path().string()}, std::move(overrides)});
}

std::string error_of(const std::string& text, std::vector<std::string> overrides = {}) {
  return error_message<sg::RecipeError>([&] { compose_text(text, std::move(overrides)); });
}

}  // namespace

TEST_CASE("a whole-value reference copies the value and its type") {
  sg::Recipe r = compose_text(
      "a: {n: 3, f: 0.5, b: true, s: '12', l: [1, 2], m: {x: 1}, z: null}\n"
      "n: ${a.n}\nf: ${a.f}\nb: ${a.b}\ns: ${a.s}\nl: ${a.l}\nm: ${a.m}\nz: ${a.z}\n");
  CHECK(r.get<int>("n") == 3);
  CHECK(r.get<double>("f") == Approx(0.5));
  CHECK(r.get<bool>("b"));
  CHECK(r.get<std::string>("s") == "12");
  CHECK_THROWS_AS(r.get<int>("s"), sg::RecipeError);  // the quoted string stays a string
  CHECK(r.get<std::vector<int64_t>>("l") == std::vector<int64_t>{1, 2});
  CHECK(r.get<int>("m.x") == 1);
  CHECK(r.node("z").IsNull());
}

TEST_CASE("a reference inside text is substituted as text") {
  sg::Recipe r = compose_text("name: resnet\nepochs: 5\nrun: ${name}_e${epochs}\nnum: ${epochs}${epochs}\n");
  CHECK(r.get<std::string>("run") == "resnet_e5");
  CHECK(r.get<std::string>("num") == "55");
  CHECK_THROWS_AS(r.get<int>("num"), sg::RecipeError);
}

TEST_CASE("references are resolved transitively and see overrides") {
  const char* text = "a: ${b}\nb: ${c.d}\nc:\n  d: ${e}\ne: 7\nt: x${a}\n";
  sg::Recipe r = compose_text(text);
  CHECK(r.get<int>("a") == 7);
  CHECK(r.get<int>("b") == 7);
  CHECK(r.get<int>("c.d") == 7);
  CHECK(r.get<std::string>("t") == "x7");
  sg::Recipe r2 = compose_text(text, {"e=9"});
  CHECK(r2.get<int>("a") == 9);
  CHECK(r2.get<std::string>("t") == "x9");
}

TEST_CASE("a reference through another reference's subtree") {
  sg::Recipe r = compose_text("src: {x: {y: 4}}\nalias: ${src.x}\nleaf: ${alias.y}\n");
  CHECK(r.get<int>("leaf") == 4);
  CHECK(r.get<int>("alias.y") == 4);
}

TEST_CASE("relative references") {
  sg::Recipe r = compose_text("g:\n  a: 2\n  b: ${.a}\n  h:\n    c: ${..a}\n");
  CHECK(r.get<int>("g.b") == 2);
  CHECK(r.get<int>("g.h.c") == 2);
}

TEST_CASE("reference cycles are errors naming the key") {
  std::string msg = error_of("a: ${b}\nb: ${a}\n");
  CHECK_THAT(msg, Catch::Contains("cycle"));
  CHECK_THAT(msg, Catch::Contains("a -> b -> a"));
  CHECK_THAT(error_of("x:\n  y: ${x}\n"), Catch::Contains("cycle"));
  CHECK_THAT(error_of("s: ${s}\n"), Catch::Contains("s: interpolation cycle"));
}

TEST_CASE("references to missing keys are errors naming both keys") {
  std::string msg = error_of("t:\n  holder: pre_${nothing.here}\n");
  CHECK_THAT(msg, Catch::Contains("t.holder"));
  CHECK_THAT(msg, Catch::Contains("nothing.here"));
  CHECK_THAT(error_of("a: ${b.c}\nb: 3\n"), Catch::Contains("'b.c'"));
}

TEST_CASE("resolvers: oc.env is supported, others are errors") {
  ::setenv("SG_RECIPE_TEST_VAR", "from_env", 1);
  ::unsetenv("SG_RECIPE_TEST_UNSET");
  sg::Recipe r = compose_text(
      "a: ${oc.env:SG_RECIPE_TEST_VAR}\nb: ${oc.env:SG_RECIPE_TEST_UNSET,fallback}\nc: ${oc.env:SG_RECIPE_TEST_UNSET,null}\n");
  CHECK(r.get<std::string>("a") == "from_env");
  CHECK(r.get<std::string>("b") == "fallback");
  CHECK(r.node("c").IsNull());
  CHECK_THAT(error_of("a: ${oc.env:SG_RECIPE_TEST_UNSET}\n"), Catch::Contains("SG_RECIPE_TEST_UNSET"));
  std::string msg = error_of("dir: ${hydra_output_dir:${ckpt_root_dir}, x}\nckpt_root_dir: c\n");
  CHECK_THAT(msg, Catch::Contains("dir"));
  CHECK_THAT(error_of("dir: ${now:%Y}\n"), Catch::Contains("unsupported resolver 'now'"));
}

TEST_CASE("embedding a list or mapping in text is an error") {
  CHECK_THAT(error_of("l: [1]\nt: a${l}\n"), Catch::Contains("t: "));
  CHECK_THAT(error_of("t: a${l\n"), Catch::Contains("unterminated"));
}
