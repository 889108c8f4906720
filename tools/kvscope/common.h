#pragma once
// What the subcommands share: the default model, loading with a clear message, terminal output.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "kernels/matmul.h"
#include "models/model.h"

namespace kvscope::cli {

constexpr const char* kDefaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf";

// The model path given with -m, else $KVSCOPE_MODEL, else models/<default> in the source tree.
std::string resolve_model_path(const std::string& given);
// Loads it; a missing default model names the command that fetches it.
std::unique_ptr<Model> load_model(const std::string& given);
// Adds the -m/--model option to a subcommand.
void add_model_option(CLI::App& app, std::string& path);
// Writes generated text to stdout at once (a TokenCallback for streaming).
void stream_to_stdout(int seq, int32_t token, const std::string& text);

// Adds --precision (fast or exact) to a subcommand.
void add_precision_option(CLI::App& app, Precision& precision);

// Registration of each subcommand: adds it to `app` and sets its callback.
void add_inspect(CLI::App& app);
void add_tokenize(CLI::App& app);
void add_run(CLI::App& app);
void add_demo(CLI::App& app);
void add_chat(CLI::App& app);
void add_bench(CLI::App& app);
void add_report(CLI::App& app);
void add_viz(CLI::App& app);

}  // namespace kvscope::cli
