#include "bench/cases.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace kvscope {
namespace {

const std::vector<std::string> kShortPrompts = {
    "The capital of France is",
    "Once upon a time, a small robot",
    "The best way to learn to cook is",
    "Water boils at a temperature of",
};

const std::vector<std::string> kMediumPrompts = {
    "In the early morning the harbour was quiet. Fishing boats rocked gently against the wooden "
    "pier, and the "
    "smell of salt and diesel hung in the cold air. An old man sat on an upturned crate, mending a "
    "net, and",
    "A compiler turns source code into machine instructions in several stages: it reads the text "
    "into tokens, "
    "parses the tokens into a syntax tree, checks the types, and then lowers the tree into an "
    "intermediate "
    "form that the optimiser can",
    "The museum's new exhibition follows the history of timekeeping, from sundials and water "
    "clocks to the "
    "pendulum clocks of the seventeenth century and the quartz and atomic clocks of today. "
    "Visitors start in",
    "Good soup starts with a good stock. Roast the bones until they are deep brown, cover them "
    "with cold "
    "water, add an onion, a carrot and a stick of celery, and let the pot simmer for hours while "
    "you",
};

Workload make_case(const Model& model, std::string name, const std::vector<std::string>& texts,
                   int new_tokens) {
  Workload w{std::move(name), {}, new_tokens};
  for (const std::string& text : texts) {
    w.prompts.push_back(model.tokenizer().encode(text, false, true));
    if (w.prompts.back().empty()) fail("case '{}' has an empty prompt", w.name);
  }
  return w;
}

}  // namespace

std::vector<Workload> builtin_cases(const Model& model, int new_tokens) {
  return {
      make_case(model, "single_short", {kShortPrompts[0]}, new_tokens),
      make_case(model, "single_medium", {kMediumPrompts[0]}, new_tokens),
      make_case(model, "batch_4_short", kShortPrompts, new_tokens),
      make_case(model, "batch_4_medium", kMediumPrompts, new_tokens),
      make_case(model, "batch_3_mixed",
                {kShortPrompts[1], kMediumPrompts[1], kShortPrompts[2] + " " + kMediumPrompts[2]},
                new_tokens)};
}

std::vector<Workload> load_cases(const Model& model, const std::string& path, int new_tokens) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open the cases file", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", path, e.what());
  }
  if (!j.is_object() || !j.contains("cases") || !j["cases"].is_array() || j["cases"].empty())
    fail("{}: expected {{\"cases\": [{{\"name\": ..., \"prompts\": [...]}}, ...]}}", path);
  std::vector<Workload> cases;
  for (const nlohmann::json& c : j["cases"]) {
    if (!c.is_object() || !c.contains("name") || !c["name"].is_string() || !c.contains("prompts") ||
        !c["prompts"].is_array() || c["prompts"].empty())
      fail("{}: case {} needs a \"name\" string and a non-empty \"prompts\" list", path,
           cases.size() + 1);
    std::vector<std::string> texts;
    for (const nlohmann::json& p : c["prompts"]) {
      if (!p.is_string())
        fail("{}: case '{}': every prompt must be a string", path, c["name"].get<std::string>());
      texts.push_back(p.get<std::string>());
    }
    int n = new_tokens;
    if (c.contains("new_tokens")) {
      if (!c["new_tokens"].is_number_integer() || c["new_tokens"].get<int>() < 1)
        fail("{}: case '{}': \"new_tokens\" must be a positive whole number", path,
             c["name"].get<std::string>());
      n = c["new_tokens"].get<int>();
    }
    cases.push_back(make_case(model, c["name"].get<std::string>(), texts, n));
  }
  return cases;
}

}  // namespace kvscope
