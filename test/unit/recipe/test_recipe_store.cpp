// YAML output, `.hydra/` storage in a run directory, and rebuilding a run's recipe.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "recipe/recipe.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// What a run directory keeps (sg::RunDirectory::store_recipe writes it atomically).
void store(const sg::Recipe& r, const std::string& run_dir) {
  const sg::StoredRecipe text = sg::stored_recipe(r);
  write(fs::path(run_dir) / ".hydra" / "config.yaml", text.config);
  write(fs::path(run_dir) / ".hydra" / "overrides.yaml", text.overrides);
}

// Same keys in the same order, same scalar text, same value types.
bool same_tree(const YAML::Node& a, const YAML::Node& b, const sg::Recipe& ra, const sg::Recipe& rb,
               const std::string& path) {
  if (a.Type() != b.Type()) return false;
  if (a.IsMap()) {
    if (a.size() != b.size()) return false;
    auto ib = b.begin();
    for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib) {
      const std::string k = ia->first.Scalar();
      if (k != ib->first.Scalar()) return false;
      if (!same_tree(ia->second, ib->second, ra, rb, path.empty() ? k : path + "." + k)) return false;
    }
    return true;
  }
  if (a.IsSequence()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_tree(a[i], b[i], ra, rb, path + "." + std::to_string(i))) return false;
    return true;
  }
  if (a.IsScalar()) {
    // compare typed readings so that a string "3" and an integer 3 differ
    auto kind = [&](const sg::Recipe& r) {
      try { r.get<bool>(path); return std::string("bool"); } catch (const sg::RecipeError&) {}
      try { r.get<int64_t>(path); return std::string("int"); } catch (const sg::RecipeError&) {}
      try { r.get<double>(path); return std::string("float"); } catch (const sg::RecipeError&) {}
      return std::string("string");
    };
    const std::string ka = kind(ra), kb = kind(rb);
    if (ka != kb) return false;
    if (ka == "float") return ra.get<double>(path) == rb.get<double>(path);  // "1e-3" may be written "1.0e-3"
    return a.Scalar() == b.Scalar();
  }
  return true;
}

bool same_recipe(const sg::Recipe& a, const sg::Recipe& b) { return same_tree(a.root(), b.root(), a, b, ""); }

const char* kTricky = R"(
a: {n: 3, f: 0.25, e: 1e-3, b: true, s: '12', t: 'true', nul: 'null', empty: '', y: 'yes'}
l: [1, two, '3', null, {k: v}]
nested: [[1, 2], []]
m: {}
colon: 'a: b'
hash: 'x # y'
multi: "line1\nline2"
spaces: '  lead'
z: null
)";

}  // namespace

TEST_CASE("to_yaml round-trips values and their types") {
  TempDir d;
  write(d.path() / "t.yaml", kTricky);
  sg::Recipe r = sg::compose_recipe({"t", {d.path().string()}, {"+added=007", "+u='5'"}});
  sg::Recipe back(YAML::Load(r.to_yaml()));
  CHECK(same_recipe(r, back));
  CHECK(back.get<std::string>("a.s") == "12");
  CHECK_THROWS_AS(back.get<int>("a.s"), sg::RecipeError);
  CHECK(back.get<std::string>("a.t") == "true");
  CHECK_THROWS_AS(back.get<bool>("a.t"), sg::RecipeError);
  CHECK(back.get<std::string>("a.nul") == "null");
  CHECK(back.get<std::string>("a.empty").empty());
  CHECK(back.get<double>("a.e") == Approx(1e-3));
  CHECK(back.get<std::string>("multi") == "line1\nline2");
  CHECK(back.get<std::string>("colon") == "a: b");
  CHECK(back.get<std::string>("hash") == "x # y");
  CHECK(back.get<std::string>("spaces") == "  lead");
  CHECK(back.get<std::string>("u") == "5");
  CHECK(back.node("z").IsNull());
  CHECK(back.node("m").IsMap());
  CHECK(back.node("nested.1").IsSequence());
  // PyYAML (YAML 1.1) would read 1e-3 as a string: written as 1.0e-3
  CHECK_THAT(r.to_yaml(), Catch::Contains("1.0e-3"));
  // and a second round trip gives the same text
  CHECK(back.to_yaml() == r.to_yaml());
}

TEST_CASE("to_yaml keeps keys as their text (keys spelled like numbers or YAML markers)") {
  sg::Recipe r(YAML::Load("\"1e-3\": a\n\"--- x ---\": b\n\"true\": c\nplain_key.v2: d\n"));
  const YAML::Node back = YAML::Load(r.to_yaml());
  REQUIRE(back.IsMap());
  std::vector<std::string> keys;
  for (const auto& kv : back) keys.push_back(kv.first.Scalar());
  CHECK(keys == std::vector<std::string>{"1e-3", "--- x ---", "true", "plain_key.v2"});
  CHECK_THAT(r.to_yaml(), Catch::Contains("plain_key.v2: d"));   // ordinary names stay plain
}

TEST_CASE("stored_recipe gives .hydra/config.yaml and overrides.yaml, load_stored_recipe rebuilds it") {
  TempDir recipes, run;
  write(recipes.path() / "main.yaml", "defaults:\n  - training_hyperparams: t\nexperiment_name: exp\n");
  write(recipes.path() / "training_hyperparams/t.yaml", "max_epochs: 10\ninitial_lr: 0.1\nname: ${..experiment_name}\n");
  const std::vector<std::string> overrides = {"epochs=4", "training_hyperparams.initial_lr=0.05", "+extra.k='~x'",
                                              "~training_hyperparams.name"};
  sg::Recipe r = sg::compose_recipe({"main", {recipes.path().string()}, overrides});
  const std::string run_dir = (run.path() / "exp" / "RUN_1").string();
  store(r, run_dir);
  YAML::Node ov = YAML::LoadFile((run.path() / "exp/RUN_1/.hydra/overrides.yaml").string());
  REQUIRE(ov.IsSequence());
  REQUIRE(ov.size() == overrides.size());
  for (std::size_t i = 0; i < overrides.size(); ++i) CHECK(ov[i].as<std::string>() == overrides[i]);

  // the recipe files change (or vanish) after the run started: the stored copy is used
  write(recipes.path() / "training_hyperparams/t.yaml", "max_epochs: 99\ninitial_lr: 9.0\n");
  fs::remove(recipes.path() / "main.yaml");

  sg::Recipe back = sg::load_stored_recipe(run_dir);
  CHECK(same_recipe(r, back));
  CHECK(back.to_yaml() == r.to_yaml());
  CHECK(back.get<int>("training_hyperparams.max_epochs") == 4);
  CHECK(back.get<double>("training_hyperparams.initial_lr") == Approx(0.05));
  CHECK(back.get<std::string>("extra.k") == "~x");
  CHECK_FALSE(back.has("training_hyperparams.name"));
  CHECK(back.overrides() == overrides);

  // further overrides, with the same rules
  sg::Recipe more = sg::load_stored_recipe(run_dir, {"training_hyperparams.max_epochs=40", "lr=1"});
  CHECK(more.get<int>("training_hyperparams.max_epochs") == 40);
  CHECK(more.get<double>("training_hyperparams.initial_lr") == Approx(1.0));
  std::vector<std::string> all = overrides;
  all.push_back("training_hyperparams.max_epochs=40");
  all.push_back("lr=1");
  CHECK(more.overrides() == all);
  CHECK_THROWS_WITH(sg::load_stored_recipe(run_dir, {"training_hyperparams.max_epoch=40"}),
                    Catch::Contains("unknown key 'training_hyperparams.max_epoch'"));
  CHECK_THROWS_WITH(sg::load_stored_recipe(run_dir, {"epochs=x"}),
                    Catch::Contains("training_hyperparams.max_epochs: expected an integer, got 'x'"));

  // storing again gives what loads the same
  store(more, run_dir);
  sg::Recipe again = sg::load_stored_recipe(run_dir);
  CHECK(same_recipe(more, again));
  CHECK(again.overrides() == all);
}

TEST_CASE("the stored config holds resolved values, not references") {
  TempDir recipes, run;
  write(recipes.path() / "main.yaml", "a: 1\nb: ${a}\nc: x${a}\n");
  sg::Recipe r = sg::compose_recipe({"main", {recipes.path().string()}, {"a=2"}});
  store(r, run.path().string());
  const std::string text = file_contents(run.path() / ".hydra/config.yaml");
  CHECK(text.find("${") == std::string::npos);
  sg::Recipe back = sg::load_stored_recipe(run.path().string(), {"a=5"});
  CHECK(back.get<int>("b") == 2);  // resolved at the start of the run
  CHECK(back.get<std::string>("c") == "x2");
  CHECK(back.get<int>("a") == 5);
}

TEST_CASE("every shipped recipe survives store and load unchanged") {
  for (const char* name : {"fashion_mnist_resnet", "cifar10_resnet", "test_tiny"}) {
    INFO(name);
    TempDir run;
    sg::Recipe r = sg::compose_recipe({name, {sg::builtin_recipes_dir()}, {"epochs=2"}});
    store(r, run.path().string());
    sg::Recipe back = sg::load_stored_recipe(run.path().string());
    CHECK(same_recipe(r, back));
    CHECK(back.to_yaml() == r.to_yaml());
    CHECK(back.overrides() == std::vector<std::string>{"epochs=2"});
  }
}

TEST_CASE("load_stored_recipe errors name the run directory and the file") {
  TempDir run;
  CHECK_THROWS_WITH(sg::load_stored_recipe(run.path().string()), Catch::Contains(".hydra/config.yaml"));
  write(run.path() / ".hydra/config.yaml", "a: [1\n");
  CHECK_THROWS_WITH(sg::load_stored_recipe(run.path().string()), Catch::Contains("config.yaml"));
  write(run.path() / ".hydra/config.yaml", "a: 1\n");
  write(run.path() / ".hydra/overrides.yaml", "{not: a list}\n");
  CHECK_THROWS_WITH(sg::load_stored_recipe(run.path().string()), Catch::Contains("overrides.yaml"));
  fs::remove(run.path() / ".hydra/overrides.yaml");
  CHECK(sg::load_stored_recipe(run.path().string()).get<int>("a") == 1);  // overrides.yaml optional
}

TEST_CASE("Recipe from a YAML node and its accessors") {
  sg::Recipe r(YAML::Load("x: {y: [1.5, 2]}\nflag: false\n"), {"x.y=[1.5, 2]"});
  CHECK(r.get<std::vector<double>>("x.y") == std::vector<double>{1.5, 2.0});
  CHECK_FALSE(r.get<bool>("flag"));
  CHECK(r.overrides().size() == 1);
  CHECK(r.has("x.y.1"));
  CHECK_FALSE(r.has("x.y.2"));
  // node() returns a copy: changing it does not change the recipe
  YAML::Node n = r.node("x");
  n["y"] = 3;
  CHECK(r.get<std::vector<double>>("x.y").size() == 2);
  CHECK_THROWS_AS(sg::Recipe(YAML::Load("[1, 2]")), sg::RecipeError);
}
