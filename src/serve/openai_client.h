#pragma once
// One streamed request to an OpenAI-compatible server, timed as vLLM's benchmark times it: the
// first chunk with text gives TTFT, each later one an inter-token latency; the token counts come
// from the usage the server reports (stream_options.include_usage).
#include <chrono>
#include <string>
#include <vector>

namespace kvscope::serve {

struct ClientRequest {
  std::string prompt;
  int prompt_len = 0;  // tokens, as the dataset counted them (when the server reports no usage)
  int max_tokens = 16;
  bool ignore_eos = false;
};

struct RequestTiming {
  bool success = false;
  std::string error;
  std::string text;
  int prompt_tokens = 0, output_tokens = 0;
  double ttft_s = 0, latency_s = 0;
  std::vector<double> itl_s;  // between successive chunks with text
};

struct Target {
  std::string base_url = "http://127.0.0.1:8080";
  std::string endpoint = "/v1/completions";
  std::string model;
  std::string api_key;
};

RequestTiming send_request(const Target& target, const ClientRequest& request);

}  // namespace kvscope::serve
