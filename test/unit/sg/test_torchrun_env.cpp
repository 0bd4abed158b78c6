// sg::read_torchrun_environment: torchrun's variables read and checked, no LibTorch.
#include <cstdlib>
#include <map>
#include <string>

#include <catch2/catch.hpp>

#include "sg/dist/torchrun_env.hpp"
#include "temp_dir.hpp"

namespace {

using Variables = std::map<std::string, std::string>;

// What torchrun --nproc-per-node 2 gives its second worker (static rendezvous).
Variables torchrun_worker() {
  return {{"RANK", "1"},           {"LOCAL_RANK", "1"},       {"WORLD_SIZE", "2"},
          {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"},
          {"TORCHELASTIC_RESTART_COUNT", "0"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
          {"GROUP_RANK", "0"}};
}

sg::EnvironmentLookup lookup_in(const Variables& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string refusal(const Variables& vars) {
  return error_message<std::runtime_error>([&] { sg::read_torchrun_environment(lookup_in(vars)); });
}

}  // namespace

TEST_CASE("no torchrun variable: a one-process run") {
  CHECK_FALSE(sg::read_torchrun_environment(lookup_in({})).has_value());
  CHECK_FALSE(sg::read_torchrun_environment(lookup_in({{"GROUP_RANK", "0"}, {"OMP_NUM_THREADS", "1"}})).has_value());
}

TEST_CASE("torchrun's variables are read as they are") {
  Variables vars = torchrun_worker();
  vars["TORCHELASTIC_RESTART_COUNT"] = "3";
  const auto env = sg::read_torchrun_environment(lookup_in(vars));
  REQUIRE(env.has_value());
  CHECK(env->rank == 1);
  CHECK(env->local_rank == 1);
  CHECK(env->world_size == 2);
  CHECK(env->local_world_size == 2);
  CHECK(env->master_addr == "127.0.0.1");
  CHECK(env->master_port == 29500);
  CHECK(env->restart_count == 3);
  CHECK(env->use_agent_store);
}

TEST_CASE("variables set by hand: no restart count, no agent store") {
  Variables vars = torchrun_worker();
  vars.erase("TORCHELASTIC_RESTART_COUNT");
  vars.erase("TORCHELASTIC_USE_AGENT_STORE");
  const auto env = sg::read_torchrun_environment(lookup_in(vars));
  REQUIRE(env.has_value());
  CHECK(env->restart_count == 0);
  CHECK_FALSE(env->use_agent_store);
}

TEST_CASE("a partial set names the missing variable") {
  for (const char* name : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) {
    Variables vars = torchrun_worker();
    vars.erase(name);
    CHECK(refusal(vars) == std::string("torchrun environment: ") + name +
                               " is not set (torchrun sets it with the other variables, some of which are set)");
  }
  CHECK(refusal({{"TORCHELASTIC_RESTART_COUNT", "0"}}).find("WORLD_SIZE is not set") != std::string::npos);
}

TEST_CASE("a malformed or inconsistent value names the variable and the value") {
  const std::map<std::pair<std::string, std::string>, std::string> cases = {
      {{"RANK", "-1"}, "RANK='-1' is not a non-negative integer"},
      {{"RANK", " 1"}, "RANK=' 1' is not a non-negative integer"},
      {{"RANK", "1x"}, "RANK='1x' is not a non-negative integer"},
      {{"RANK", ""}, "RANK='' is not a non-negative integer"},
      {{"RANK", "2"}, "RANK='2' is outside [0, 1]"},
      {{"WORLD_SIZE", "0"}, "WORLD_SIZE='0' is outside [1, 2147483648]"},
      {{"WORLD_SIZE", "99999999999999999999"}, "WORLD_SIZE='99999999999999999999' is not a non-negative integer"},
      {{"LOCAL_WORLD_SIZE", "3"}, "LOCAL_WORLD_SIZE='3' is outside [1, 2]"},
      {{"LOCAL_RANK", "2"}, "LOCAL_RANK='2' is outside [0, 1]"},
      {{"MASTER_PORT", "0"}, "MASTER_PORT='0' is outside [1, 65535]"},
      {{"MASTER_PORT", "65536"}, "MASTER_PORT='65536' is outside [1, 65535]"},
      {{"MASTER_PORT", "http"}, "MASTER_PORT='http' is not a non-negative integer"},
      {{"MASTER_ADDR", ""}, "MASTER_ADDR is empty"},
      {{"TORCHELASTIC_RESTART_COUNT", "one"}, "TORCHELASTIC_RESTART_COUNT='one' is not a non-negative integer"},
      {{"TORCHELASTIC_USE_AGENT_STORE", "true"}, "TORCHELASTIC_USE_AGENT_STORE='true' is neither 'True' nor 'False'"},
  };
  for (const auto& [change, message] : cases) {
    Variables vars = torchrun_worker();
    vars[change.first] = change.second;
    CHECK(refusal(vars) == "torchrun environment: " + message);
  }
}

TEST_CASE("without a lookup, the process environment is read") {
  for (const char* name : {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                           "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_USE_AGENT_STORE"})
    ::unsetenv(name);
  CHECK_FALSE(sg::read_torchrun_environment().has_value());
  ::setenv("RANK", "0", 1);
  CHECK(error_message<std::runtime_error>([] { sg::read_torchrun_environment(); })
            .find("WORLD_SIZE is not set") != std::string::npos);
  ::unsetenv("RANK");
}
