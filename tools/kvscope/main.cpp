// kvscope: an LLM inference engine built around the KV cache, and its measurement harness.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"kvscope: run small LLMs on the CPU and see what the KV cache buys", "kvscope"};
  app.require_subcommand(1);
  kvscope::cli::add_inspect(app);
  kvscope::cli::add_tokenize(app);
  kvscope::cli::add_run(app);
  kvscope::cli::add_demo(app);
  kvscope::cli::add_chat(app);
  kvscope::cli::add_bench(app);
  kvscope::cli::add_report(app);
  kvscope::cli::add_viz(app);
  kvscope::cli::add_train(app);
  kvscope::cli::add_serve(app);
  kvscope::cli::explain_value_errors(app);
  kvscope::cli::set_command_line(argc, argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  kvscope::cli::spell_llama_bench_flags(args);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
      return app.exit(e);  // --help
    fmt::print(stderr, "kvscope: error: {}\n", kvscope::cli::parse_error_line(app, e));
    return 1;
  } catch (const kvscope::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "kvscope: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "kvscope: error: out of memory\n");
    return 1;
  }
  return 0;
}
