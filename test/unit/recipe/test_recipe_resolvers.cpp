// Resolvers SG's recipes call (`${add:...}`, `${getitem:...}`, ...), nested expressions in
// their arguments, the resolvers that are refused, and hostile expressions.
#include <catch2/catch.hpp>

#include "recipe_files.hpp"

namespace {

sg::Recipe compose_text(const std::string& text, std::vector<std::string> overrides = {}) {
  TempDir d;
  write_recipe_file(d, "r.yaml", text);
  return sg::compose_recipe({"r", {d.path().string()}, std::move(overrides)});
}

std::string error_of(const std::string& text) {
  return recipe_error([&] { compose_text(text); });
}

}  // namespace

TEST_CASE("arithmetic resolvers keep Python's number types") {
  const sg::Recipe r = compose_text(
      "a: 3\nb: 0.5\n"
      "sum: ${add:1,2,${a}}\nfsum: ${add:${a},${b}}\nnone: ${add:}\n"
      "prod: ${mul:2,${a},4}\nfprod: ${mul:${b},4}\n"
      "q: ${div:${a},2}\nwhole: ${div:6,3}\n"
      "text: lr_${mul:${a},2}\n");
  CHECK(r.get<int>("sum") == 6);
  CHECK(r.get<double>("fsum") == Approx(3.5));
  CHECK(r.get<int>("none") == 0);
  CHECK(r.get<int>("prod") == 24);
  CHECK(r.get<double>("fprod") == 2.0);
  CHECK_THROWS_AS(r.get<int>("fprod"), sg::RecipeError);  // 0.5 * 4 is the float 2.0
  CHECK(r.get<double>("q") == 1.5);
  CHECK(r.node("whole").Scalar() == "2.0");  // true division: a float, as in Python
  CHECK(r.get<std::string>("text") == "lr_6");
}

TEST_CASE("cond, getitem, first, last and len") {
  const sg::Recipe r = compose_text(
      "flag: false\nl: [10, 20, 30]\nm: {v1: 255, v2: 0}\nversion: v2\nname: abé\n"
      "c: ${cond:${flag},yes_value,no_value}\nc2: ${cond:1,${l},0}\nc3: ${cond:'',a,b}\n"
      "g: ${getitem:${l},1}\ng2: ${getitem:${l},-1}\ng3: ${getitem:${m},${version}}\n"
      "f: ${first:${l}}\nla: ${last:${l}}\nn: ${len:${l}}\nn2: ${len:${m}}\nn3: ${len:${name}}\n"
      "lit: ${last:[1, [2, 3]]}\n");
  CHECK(r.get<std::string>("c") == "no_value");
  CHECK(r.get<std::vector<int64_t>>("c2") == std::vector<int64_t>{10, 20, 30});
  CHECK(r.get<std::string>("c3") == "b");
  CHECK(r.get<int>("g") == 20);
  CHECK(r.get<int>("g2") == 30);
  CHECK(r.get<int>("g3") == 0);
  CHECK(r.get<int>("f") == 10);
  CHECK(r.get<int>("la") == 30);
  CHECK(r.get<int>("n") == 3);
  CHECK(r.get<int>("n2") == 2);
  CHECK(r.get<int>("n3") == 3);  // characters, not bytes
  CHECK(r.get<std::vector<int64_t>>("lit") == std::vector<int64_t>{2, 3});
}

TEST_CASE("SG's recipe expressions: nested references inside resolver arguments") {
  // as in SG's unet and mapillary params
  const sg::Recipe r = compose_text(
      "arch_params:\n  backbone_params: {width_list: [32, 64, 128]}\n  in_channels: ${last:${arch_params.backbone_params.width_list}}\n"
      "dataset_params:\n  config_ignore_values: {v1.2: 65, v2.0: 255}\n  config_version: v2.0\n"
      "  mask_fill_value: ${getitem:${dataset_params.config_ignore_values},${dataset_params.config_version}}\n"
      "which: config_version\nindirect: ${dataset_params.${which}}\n"
      "quoted: ${cond:true,'a, ${which}',b}\n");
  CHECK(r.get<int>("arch_params.in_channels") == 128);
  CHECK(r.get<int>("dataset_params.mask_fill_value") == 255);
  CHECK(r.get<std::string>("indirect") == "v2.0");
  CHECK(r.get<std::string>("quoted") == "a, config_version");
}

TEST_CASE("resolver errors name the key, the expression and the reason") {
  CHECK_THAT(error_of("a: ${div:1,0}\n"), Catch::Contains("a: '${div:1,0}': div: division by zero"));
  CHECK_THAT(error_of("a: ${div:1}\n"), Catch::Contains("div takes 2 arguments, got 1"));
  CHECK_THAT(error_of("a: ${add:1,x}\n"), Catch::Contains("add: expected a number, got 'x'"));
  CHECK_THAT(error_of("a: ${mul:9223372036854775807,2}\n"), Catch::Contains("mul: integer overflow"));
  CHECK_THAT(error_of("l: [1]\na: ${getitem:${l},1}\n"), Catch::Contains("index 1 is out of range for a list of 1"));
  CHECK_THAT(error_of("m: {x: 1}\na: ${getitem:${m},y}\n"), Catch::Contains("the mapping has no key 'y'"));
  CHECK_THAT(error_of("l: []\na: ${first:${l}}\n"), Catch::Contains("first: the list is empty"));
  CHECK_THAT(error_of("a: ${len:3}\n"), Catch::Contains("len: expected a list, a mapping or a string, got '3'"));
  CHECK_THAT(error_of("a: '${add:{x: 1}}'\n"), Catch::Contains("a mapping as a resolver argument is not supported"));
  CHECK_THAT(error_of("a: ${add:1,2\n"), Catch::Contains("unterminated interpolation"));
  CHECK_THAT(error_of("a: ${add:[1,2}\n"), Catch::Contains("a: "));
}

TEST_CASE("resolvers without a meaning here are errors naming the key and the file") {
  TempDir d;
  write_recipe_file(d, "r.yaml", "defaults:\n  - training_hyperparams: t\n  - _self_\nds: coco\n");
  const std::string group = write_recipe_file(
      d, "training_hyperparams/t.yaml", "loss_cls: ${class:torch.nn.CrossEntropyLoss}\nn: ${roboflow_dataset_num_classes:${ds}}\n");
  const std::string msg = compose_error(d, "r");
  CHECK_THAT(msg, Catch::Contains("training_hyperparams.loss_cls: '${class:torch.nn.CrossEntropyLoss}': resolver 'class' "
                                  "looks up a Python class"));
  CHECK_THAT(msg, Catch::EndsWith("(written in " + group + ")"));
  write_recipe_file(d, "training_hyperparams/t.yaml", "n: ${roboflow_dataset_num_classes:${ds}}\n");
  CHECK_THAT(compose_error(d, "r"), Catch::Contains("resolver 'roboflow_dataset_num_classes' reads SG's table"));
  CHECK_THAT(error_of("d: ${hydra_output_dir:a,b}\n"), Catch::Contains("only accepted as SG's hydra.run.dir"));
  CHECK_THAT(error_of("d: ${now:%Y}\n"), Catch::Contains("unsupported resolver 'now'"));
}

TEST_CASE("hostile expressions: loops through resolvers, deep nesting") {
  CHECK_THAT(error_of("a: ${add:${b},1}\nb: ${mul:${a},2}\n"), Catch::Contains("interpolation cycle"));
  CHECK_THAT(error_of("a: ${first:[${a}]}\n"), Catch::Contains("interpolation cycle"));
  auto nested = [](std::size_t depth) {
    std::string text = "1";
    for (std::size_t i = 0; i < depth; ++i) text = "${add:" + text + ",1}";
    return "a: " + text + "\n";
  };
  CHECK(compose_text(nested(200)).get<int>("a") == 201);
  CHECK_THAT(error_of(nested(300)), Catch::Contains("interpolations nest more than 256 levels deep"));
  CHECK_THAT(error_of(nested(100000)), Catch::Contains("interpolations nest more than 256 levels deep"));
  const std::string lists = "a: ${len:" + std::string(100, '[') + std::string(100, ']') + "}\n";
  CHECK_THAT(error_of(lists), Catch::Contains("resolver arguments nest more than 64 levels deep"));
  // a resolver's result counts against the size bounds like a copied value
  std::string text = "l0: [1, 2, 3, 4, 5, 6, 7, 8]\n";
  for (int i = 1; i <= 20; ++i)
    text += "l" + std::to_string(i) + ":\n  - ${cond:true,${l" + std::to_string(i - 1) + "},0}\n  - ${l" +
            std::to_string(i - 1) + "}\n";
  CHECK_THAT(error_of(text), Catch::Contains("the recipe would have more than 50000 nodes"));
}
