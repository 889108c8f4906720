#pragma once
// Where the tests find their fixtures, the default model and the command line.
#include <string>

namespace kvscope::testing {

std::string fixture(const std::string& name);  // tests/fixtures/<name>
std::string cli();                             // the built kvscope binary
// The default model if scripts/fetch_model.sh has fetched it, else "" (tests that need it skip
// locally; CI always fetches it first).
std::string default_model();

struct CommandResult {
  int status = 0;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the kvscope command line with `args` (a shell-quoted string), `input` as its stdin.
CommandResult run_cli(const std::string& args, const std::string& input = "");

}  // namespace kvscope::testing
