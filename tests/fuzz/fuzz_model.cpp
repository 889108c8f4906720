// From a file to generated tokens: any input must either load as a model that then runs a step
// of prefill and a step of decode (with every cache strategy's reads in bounds), or be rejected
// with kvscope::Error while loading or adding the request. Seeded with a complete tiny Llama.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "engine/engine.h"
#include "models/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The model is loaded the way users load one, by path: the input goes into an in-memory file.
  const int fd = memfd_create("fuzz.gguf", 0);
  if (fd < 0) return 0;
  size_t written = 0;
  while (written < size) {
    const ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  std::unique_ptr<kvscope::Model> model;
  try {
    if (written == size) model = kvscope::Model::load("/proc/self/fd/" + std::to_string(fd));
  } catch (const kvscope::Error&) {
  }
  close(fd);
  if (!model) return 0;
  kvscope::EngineOptions options;
  options.threads = 1;
  options.max_seqs = 1;
  options.n_ctx = 8;  // a fuzzed context length must not size the cache
  try {
    kvscope::Engine engine(*model, options);
    kvscope::Request request;
    const int32_t last = model->config().vocab_size - 1;
    request.prompt = {0, last, last / 2};
    request.max_new_tokens = 2;
    request.stop_at_end_token = false;
    engine.add(std::move(request));
    engine.run_until_idle();
  } catch (const kvscope::Error&) {
  }
  return 0;
}
