#include "sg/dist/torchrun_env.hpp"

#include <cstdlib>
#include <stdexcept>

namespace sg {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("torchrun environment: " + what);
}

std::string quoted(const std::string& name, const std::string& value) { return name + "='" + value + "'"; }

class Reader {
 public:
  explicit Reader(const EnvironmentLookup& lookup) : lookup_(lookup) {}

  std::optional<std::string> optional(const std::string& name) const { return lookup_(name); }

  std::string required(const std::string& name) const {
    auto value = lookup_(name);
    if (!value) fail(name + " is not set (torchrun sets it with the other variables, some of which are set)");
    return *value;
  }

  // Decimal digits only: no sign, spaces or suffix, within [min, max].
  static int64_t integer(const std::string& name, const std::string& text, int64_t min, int64_t max) {
    bool digits = !text.empty() && text.size() <= 18;
    for (char c : text) digits = digits && c >= '0' && c <= '9';
    if (!digits) fail(quoted(name, text) + " is not a non-negative integer");
    const int64_t value = std::stoll(text);
    if (value < min || value > max)
      fail(quoted(name, text) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return value;
  }

  int64_t integer(const std::string& name, int64_t min, int64_t max) const {
    return integer(name, required(name), min, max);
  }

 private:
  const EnvironmentLookup& lookup_;
};

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

}  // namespace

const std::vector<std::string>& torchrun_variable_names() {
  static const std::vector<std::string> names{"RANK",        "LOCAL_RANK",  "WORLD_SIZE",
                                              "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                                              "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_USE_AGENT_STORE"};
  return names;
}

std::optional<TorchrunEnvironment> read_torchrun_environment(const EnvironmentLookup& lookup) {
  const EnvironmentLookup& get = lookup ? lookup : EnvironmentLookup(process_environment);
  bool any = false;
  for (const std::string& name : torchrun_variable_names()) any = any || get(name).has_value();
  if (!any) return std::nullopt;

  const Reader reader(get);
  constexpr int64_t kMaxRanks = int64_t{1} << 31;
  TorchrunEnvironment env;
  env.world_size = reader.integer("WORLD_SIZE", 1, kMaxRanks);
  env.rank = reader.integer("RANK", 0, env.world_size - 1);
  env.local_world_size = reader.integer("LOCAL_WORLD_SIZE", 1, env.world_size);
  env.local_rank = reader.integer("LOCAL_RANK", 0, env.local_world_size - 1);
  env.master_addr = reader.required("MASTER_ADDR");
  if (env.master_addr.empty()) fail("MASTER_ADDR is empty");
  env.master_port = reader.integer("MASTER_PORT", 1, 65535);
  if (auto count = reader.optional("TORCHELASTIC_RESTART_COUNT"))
    env.restart_count = Reader::integer("TORCHELASTIC_RESTART_COUNT", *count, 0, kMaxRanks);
  if (auto agent = reader.optional("TORCHELASTIC_USE_AGENT_STORE")) {
    if (*agent != "True" && *agent != "False")
      fail(quoted("TORCHELASTIC_USE_AGENT_STORE", *agent) + " is neither 'True' nor 'False'");
    env.use_agent_store = *agent == "True";
  }
  return env;
}

}  // namespace sg
