#include "test_paths.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace kvscope::testing {

std::string fixture(const std::string& name) { return std::string(KVSCOPE_FIXTURES) + "/" + name; }

std::string cli() { return KVSCOPE_CLI; }

std::string default_model() {
  const std::string path =
      std::string(KVSCOPE_SOURCE_DIR) + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::exists(path) ? path : "";
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CommandResult run_cli(const std::string& args, const std::string& input) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(std::rand());
  const std::string in_path = (dir / ("kvscope_in_" + tag)).string();
  const std::string out_path = (dir / ("kvscope_out_" + tag)).string();
  const std::string err_path = (dir / ("kvscope_err_" + tag)).string();
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string command =
      "'" + cli() + "' " + args + " <'" + in_path + "' >'" + out_path + "' 2>'" + err_path + "'";
  const int raw = std::system(command.c_str());
  CommandResult result;
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  std::filesystem::remove(in_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return result;
}

}  // namespace kvscope::testing
