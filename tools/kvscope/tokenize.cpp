// kvscope tokenize: the ids and pieces a model's tokenizer makes of a text. Only the tokenizer is
// read, so vocabulary-only files (llama.cpp's ggml-vocab-*.gguf) work too.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common.h"
#include "formats/model_file.h"
#include "tokenizer/tokenizer.h"

namespace kvscope::cli {

void add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the token ids and pieces of a text");
  cmd->footer(
      "Examples:\n  kvscope tokenize - 'Hello world'\n  kvscope tokenize model.gguf 'Hello' "
      "--json");
  struct Args {
    std::string model, text;
    bool json = false, no_special = false, no_bos = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option(
         "model", args->model,
         "GGUF file (a vocabulary-only one too) or Hugging Face folder ('-' for the default model)")
      ->required();
  cmd->add_option("text", args->text, "Text to tokenize")->required();
  cmd->add_flag("--json", args->json, "Print JSON with ids, pieces and the decoded text");
  cmd->add_flag("--no-special", args->no_special, "Treat special-token text as plain text");
  cmd->add_flag("--no-bos", args->no_bos, "Do not add the BOS token the model asks for");
  cmd->callback([args] {
    const auto file = open_model_file(resolve_model_path(args->model == "-" ? "" : args->model));
    const auto tokenizer = Tokenizer::from_metadata(file->meta);
    const Tokenizer& tok = *tokenizer;
    const std::vector<int32_t> ids = tok.encode(args->text, !args->no_special, !args->no_bos);
    std::vector<std::string> pieces;
    for (int32_t id : ids) pieces.push_back(tok.token_text(id));
    if (args->json) {
      const nlohmann::json j = {{"ids", ids}, {"pieces", pieces}, {"text", tok.decode(ids)}};
      fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    for (size_t i = 0; i < ids.size(); ++i)
      fmt::print(
          "{:>8}  {}\n", ids[i],
          nlohmann::json(pieces[i]).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    fmt::print("{} tokens\n", ids.size());
  });
}

}  // namespace kvscope::cli
