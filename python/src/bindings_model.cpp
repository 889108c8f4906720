// The model, its tokenizer, teacher-forced logits and step-by-step generation. Everything that
// computes releases the GIL.
#include <nanobind/ndarray.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "core/error.h"
#include "generate/chat.h"
#include "generation.h"
#include "models/default_model.h"
#include "models/describe.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kvscope::python {
namespace {

using Release = nb::call_guard<nb::gil_scoped_release>;

EngineOptions engine_options(const std::string& cache, const std::string& kv_type,
                             const std::string& precision, int threads) {
  if (threads < 1) fail("threads must be at least 1, not {}", threads);
  EngineOptions o;
  o.cache = parse_strategy(cache);
  o.kv_type = parse_kv_type(kv_type);
  o.precision = parse_precision(precision);
  o.threads = threads;
  return o;
}

// Logits of every position of `ids` fed as one sequence, [tokens][vocab], handed to NumPy
// without a copy.
nb::ndarray<nb::numpy, float, nb::ndim<2>> logits(const Model& model,
                                                  const std::vector<int32_t>& ids,
                                                  const std::string& precision, int threads) {
  auto* values = new std::vector<float>();
  {
    nb::gil_scoped_release release;
    try {
      EngineOptions o = engine_options("prealloc", "f32", precision, threads);
      o.max_seqs = 1;
      o.n_ctx = std::max<int>(1, static_cast<int>(ids.size()));
      o.max_batch_tokens = o.n_ctx;
      Engine engine(model, o);
      *values = engine.score(ids);
    } catch (...) {
      delete values;
      throw;
    }
  }
  nb::capsule owner(values, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
  const size_t vocab = static_cast<size_t>(model.config().vocab_size);
  return {values->data(), {values->size() / vocab, vocab}, owner};
}

nb::bytes as_bytes(const std::string& text) { return nb::bytes(text.data(), text.size()); }

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<Model>(m, "Model", "A loaded model (kvscope.Model wraps it)")
      .def_static(
          "load", [](const std::string& path) { return load_model(path); }, "path"_a, Release(),
          "Loads a GGUF file or Hugging Face folder; '' for the default model.")
      .def_prop_ro("path", [](const Model& model) { return model.file().path; })
      .def("config_json", [](const Model& model) { return describe_model(model).dump(); })
      .def(
          "tokenize",
          [](const Model& model, const std::string& text, bool special, bool add_bos) {
            return model.tokenizer().encode(text, special, add_bos);
          },
          "text"_a, "special"_a, "add_bos"_a, Release())
      .def(
          "detokenize",
          [](const Model& model, const std::vector<int32_t>& ids) {
            const int vocab = model.config().vocab_size;
            for (int32_t id : ids)
              if (id < 0 || id >= vocab)
                fail("token id {} is outside the vocabulary of {}", id, vocab);
            return as_bytes(model.tokenizer().decode(ids));
          },
          "ids"_a)
      .def(
          "chat_prompt",
          [](const Model& model, const std::vector<std::pair<std::string, std::string>>& messages,
             bool add_generation_prompt) {
            std::vector<ChatMessage> chat;
            for (const auto& [role, content] : messages) chat.push_back({role, content});
            return chat_prompt(model, chat, add_generation_prompt);
          },
          "messages"_a, "add_generation_prompt"_a)
      .def("logits", &logits, "ids"_a, "precision"_a, "threads"_a);

  nb::class_<Piece>(m, "Piece", "Text that became showable with a token, as stream() yields it")
      .def_ro("seq", &Piece::seq)
      .def_ro("token", &Piece::token)
      .def_ro("text", &Piece::text)
      .def_ro("time", &Piece::time_s, "seconds since the generation started")
      .def_ro("tokens", &Piece::tokens,
              "tokens generated since the sequence's last piece, this one's included");

  nb::class_<Generation>(m, "Generation",
                         "A batch generating on an engine of its own (Model.generate and "
                         "Model.stream drive it)")
      .def(
          "__init__",
          [](Generation* self, const Model& model, const std::vector<std::vector<int32_t>>& prompts,
             int max_new_tokens, float temperature, int top_k, float top_p, float min_p,
             float repeat_penalty, uint64_t seed, const std::vector<std::string>& stop,
             const std::string& cache, const std::string& kv_type, const std::string& precision,
             int threads, int block_size, bool prefix_cache) {
            GenerationSettings s;
            s.engine = engine_options(cache, kv_type, precision, threads);
            s.engine.block_size = block_size;
            s.engine.prefix_cache = prefix_cache;
            s.max_new_tokens = max_new_tokens;
            s.sampling = {temperature, top_k, top_p, min_p, repeat_penalty, seed};
            s.stop_strings = stop;
            new (self) Generation(model, prompts, std::move(s));
          },
          "model"_a, "prompts"_a, "max_new_tokens"_a, "temperature"_a, "top_k"_a, "top_p"_a,
          "min_p"_a, "repeat_penalty"_a, "seed"_a, "stop"_a, "cache"_a, "kv_type"_a, "precision"_a,
          "threads"_a, "block_size"_a, "prefix_cache"_a, nb::keep_alive<1, 2>())
      .def("step", &Generation::step, Release())
      .def("take_pieces", &Generation::take_pieces)
      .def("cancel", &Generation::cancel, Release())
      .def("__len__", &Generation::size)
      .def("ids", [](const Generation& g, int seq) { return g.result(seq).output; })
      .def("text", [](const Generation& g, int seq) { return as_bytes(g.result(seq).text); })
      .def("stop_reason", [](const Generation& g,
                             int seq) { return std::string(stop_reason_name(g.result(seq).stop)); })
      .def("metrics", &Generation::metrics);
}

}  // namespace kvscope::python
