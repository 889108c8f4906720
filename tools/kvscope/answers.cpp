#include "answers.h"

#include <fmt/format.h>

#include "generate/chat.h"

namespace kvscope::cli {

const std::vector<std::string>& demo_questions() {
  static const std::vector<std::string> kQuestions = {
      "Hello!",
      "What is your name?",
      "What color is the sky?",
      "How many legs does a dog have?",
      "What is 2 plus 3?",
      "What do you use a pen for?",
  };
  return kQuestions;
}

Answer answer(const Model& model, const std::string& question, CacheStrategy cache, int max_new,
              int threads, const SamplingOptions& sampling, const TokenCallback& on_token) {
  SessionOptions so;
  so.cache = cache;
  so.threads = threads;
  so.n_ctx = 512;
  Session session(model, so);
  Chat chat(session);
  GenerateOptions g;
  g.max_new_tokens = max_new;
  g.sampling = sampling;
  const GenerationResult r = chat.say(question, g, on_token);
  const SequenceResult& s = r.sequences[0];
  Answer a;
  a.ids = s.output;
  a.tokens = static_cast<int>(s.token_times.size());
  if (!s.token_times.empty())
    a.seconds = std::chrono::duration<double>(s.token_times.back() - r.start).count();
  return a;
}

std::string speed_line(const Answer& a) {
  return fmt::format("⚡ {:.1f} tok/s | 📊 {} tokens | ⏱️  {:.3f}s", a.tokens_per_s(),
                     a.tokens, a.seconds);
}

}  // namespace kvscope::cli
