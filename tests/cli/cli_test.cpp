// The command line end to end: bad inputs give one clear line and exit status 1, never a crash;
// the commands work on the tiny fixtures and (when fetched) on the default model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "test_paths.h"

namespace kvscope {
namespace {

using testing::fixture;
using testing::run_cli;

std::string temp_file(const std::string& name, const std::string& bytes) {
  const auto path =
      std::filesystem::temp_directory_path() / ("kvscope_cli_" + std::to_string(::getpid()) + name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Exit status 1 and exactly one line on stderr, starting "kvscope: error:" and holding `needle`.
void expect_clean_error(const testing::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.err.rfind("kvscope: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(Cli, BadModelFilesGiveOneLineErrors) {
  const std::string good = read_all(fixture("models/tiny-llama-f32.gguf"));
  expect_clean_error(run_cli("inspect /nonexistent/model.gguf"), "no such file");
  expect_clean_error(run_cli("inspect '" + temp_file("magic.gguf", "NOPE" + good.substr(4)) + "'"),
                     "not a GGUF file");
  expect_clean_error(run_cli("inspect '" + temp_file("cut.gguf", good.substr(0, 200)) + "'"),
                     "truncated");
  expect_clean_error(
      run_cli("inspect '" + temp_file("short.gguf", good.substr(0, good.size() - 100)) + "'"),
      "past the end");
  std::string v9 = good;
  v9[4] = 9;
  expect_clean_error(run_cli("inspect '" + temp_file("v9.gguf", v9) + "'"), "version 9");
  std::string arch = good;
  const size_t at = arch.find("llama");
  arch.replace(at, 5, "mamba");
  expect_clean_error(run_cli("inspect '" + temp_file("arch.gguf", arch) + "'"), "architecture");
  expect_clean_error(run_cli("inspect '" + std::filesystem::temp_directory_path().string() + "'"),
                     "config.json");
}

TEST(Cli, BadPromptsGiveOneLineErrors) {
  const std::string model = "-m '" + fixture("models/tiny-llama-f32.gguf") + "'";
  expect_clean_error(run_cli("run " + model + " -p \"$(printf 'abc\\377')\""), "not valid UTF-8");
  expect_clean_error(run_cli("run " + model + " -p ''"), "prompt is empty");
  expect_clean_error(run_cli("run " + model + " -p 'one two three four five' --ctx 3"),
                     "context holds 3");
}

TEST(Cli, ABatchThatDoesNotFitIsRefusedBeforeAllocating) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  std::string many;
  for (int i = 0; i < 200; ++i) many += "hello\n";
  // 200 sequences × 8192 positions × 45 KiB of f32 K and V per token: 70 GiB.
  const std::string prompts = temp_file("prompts.txt", many);
  expect_clean_error(run_cli("run --prompts-file '" + prompts + "' --ctx 8192"), "KV cache");
}

TEST(Cli, InspectAndTokenizeOnFixtures) {
  const auto inspect = run_cli("inspect '" + fixture("models/tiny-gpt2-hf") + "' --json");
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("\"architecture\": \"gpt2\""), std::string::npos);
  EXPECT_NE(inspect.out.find("\"kv_bytes_per_token\""), std::string::npos);
  const auto tokenize =
      run_cli("tokenize '" + fixture("models/tiny-llama-f32.gguf") + "' 'Hello world' --json");
  ASSERT_EQ(tokenize.status, 0) << tokenize.err;
  EXPECT_NE(tokenize.out.find("\"ids\""), std::string::npos);
  EXPECT_NE(tokenize.out.find("Hello world\""), std::string::npos) << tokenize.out;
}

TEST(Cli, RunGivesTheSameTextWithEveryCache) {
  const std::string model =
      "-m '" + fixture("models/tiny-llama-f32.gguf") + "' -p 'Hello world' -n 12";
  const auto prealloc = run_cli("run " + model);
  ASSERT_EQ(prealloc.status, 0) << prealloc.err;
  for (const char* cache : {"none", "concat"}) {
    const auto other = run_cli("run " + model + " --cache " + cache);
    EXPECT_EQ(other.out, prealloc.out) << cache;
  }
  // The summary gives prefill and decode rates apart.
  EXPECT_TRUE(
      std::regex_search(prealloc.err, std::regex(R"(prefill [0-9.]+ tok/s, decode [0-9.]+ tok/s)")))
      << prealloc.err;
}

TEST(Cli, SameSeedSameText) {
  const std::string model = "run -m '" + fixture("models/tiny-llama-f32.gguf") +
                            "' -p 'Hello' -n 16 --temp 1.0 --top-k 40";
  const auto a = run_cli(model + " --seed 7"), b = run_cli(model + " --seed 7"),
             c = run_cli(model + " --seed 8");
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
}

TEST(Cli, ChatCarriesTheCacheAcrossTurns) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const auto r = run_cli("chat -n 4", "Hello!\n/stats\nWhat is 2 plus 3?\n/stats\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::regex stats(R"(tokens in context (\d+) / \d+ .* last turn prefilled (\d+) tokens)");
  std::vector<std::pair<int, int>> seen;  // (context, prefilled) after each turn
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), stats);
       it != std::sregex_iterator(); ++it)
    seen.emplace_back(std::stoi((*it)[1]), std::stoi((*it)[2]));
  ASSERT_EQ(seen.size(), 2u) << r.out;
  // Both answers stop at 4 tokens. The first turn prefills the whole templated prompt. The last
  // answer token was sampled but never fed, so the second turn prefills it and the new turn's
  // text: everything else comes from the cache.
  EXPECT_EQ(seen[0].second, seen[0].first - 4) << r.out;
  EXPECT_EQ(seen[1].second, seen[1].first - 4 - (seen[0].first - 1)) << r.out;
  EXPECT_LT(seen[1].second, seen[1].first / 2) << r.out;
  // The default model's file recommends no sampling, so chat samples with llama.cpp's defaults.
  EXPECT_NE(r.out.find("sampling: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, seed 0 "
                       "(llama.cpp's defaults"),
            std::string::npos)
      << r.out;
  const auto greedy = run_cli("chat -n 2 --temp 0 --repeat-penalty 1.2", "Hello!\n/stats\n");
  EXPECT_NE(greedy.out.find("sampling: greedy, repeat penalty 1.2 ("), std::string::npos)
      << greedy.out;
}

TEST(Cli, DemoRunsEndToEnd) {
  if (testing::default_model().empty()) GTEST_SKIP() << "default model not fetched";
  const std::string questions = temp_file("questions.txt", "Hello!\nWhat is 2 plus 3?\n");
  const auto r = run_cli("demo -n 12 --questions '" + questions + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Generation Performance Summary"), std::string::npos);
  EXPECT_NE(r.out.find("What the KV cache buys"), std::string::npos);
  EXPECT_EQ(r.out.find("❌"), std::string::npos) << r.out;
}

// CLI11's own text (such as a range up to a 300-digit number) never reaches the user: each bad
// argument is one line naming the flag and what it accepts.
TEST(Cli, ParseErrorsNameTheFlagAndWhatItAccepts) {
  const std::pair<const char*, const char*> cases[] = {
      {"run -n 0", "--max-new-tokens: expected a whole number of at least 1, got '0'"},
      {"run -n many", "--max-new-tokens: expected a whole number of at least 1, got 'many'"},
      {"run -t 0", "--threads: expected a whole number from 1 to 256, got '0'"},
      {"run --top-p 2", "--top-p: expected a number from 0 to 1, got '2'"},
      {"run --temp -1", "--temp: expected a number of at least 0, got '-1'"},
      {"run --kv-type q4", "--kv-type: expected one of f32, f16, q8_0, got 'q4'"},
      {"run --precision fastest",
       "--precision: expected one of fast, int8, split, exact, got 'fastest'"},
      {"bench faithfulness --split-matrices qkv,ffn", "unknown matrix kind 'ffn' (expected qkv"},
      {"run --ctx ten", "--ctx: expected a whole number, got 'ten'"},
      {"bench kv-compare -r 0", "--repetitions: expected a whole number of at least 1, got '0'"},
      {"run -n", "--max-new-tokens needs a value: a whole number of at least 1"},
      {"run --bogus", "--bogus (see kvscope run --help)"},
      {"", "(see kvscope --help)"},
  };
  for (const auto& [args, needle] : cases) {
    SCOPED_TRACE(args);
    const auto r = run_cli(args);
    expect_clean_error(r, needle);
    EXPECT_LT(r.err.size(), 160u) << r.err;
  }
  const auto help = run_cli("run --help");
  EXPECT_EQ(help.status, 0) << help.err;
  EXPECT_NE(help.out.find("--max-new-tokens"), std::string::npos) << help.out;
}

TEST(Cli, MissingDefaultModelSaysHowToFetchIt) {
  const auto r = run_cli("inspect", "");
  if (!testing::default_model().empty()) {
    EXPECT_EQ(r.status, 0);
    return;
  }
  expect_clean_error(r, "scripts/fetch_model.sh");
}

}  // namespace
}  // namespace kvscope
