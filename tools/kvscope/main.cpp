// kvscope: an LLM inference engine built around the KV cache, and its measurement harness.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "common.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"kvscope: run small LLMs on the CPU and see what the KV cache buys"};
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
  kvscope::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
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
