#include "serve/openai_client.h"

#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

namespace kvscope::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

json request_body(const Target& target, const ClientRequest& r) {
  json body = {{"model", target.model},
               {"max_tokens", r.max_tokens},
               {"temperature", 0},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"ignore_eos", r.ignore_eos}};
  if (target.endpoint == "/v1/chat/completions")
    body["messages"] = json::array({{{"role", "user"}, {"content", r.prompt}}});
  else
    body["prompt"] = r.prompt;
  return body;
}

// Reads server-sent events as they arrive, timing each chunk that carries text.
class StreamReader {
 public:
  StreamReader(RequestTiming& timing, Clock::time_point start) : t_(timing), start_(start) {}

  bool feed(const char* data, size_t size) {
    buffer_.append(data, size);
    for (size_t end; (end = buffer_.find('\n')) != std::string::npos;) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data: ", 0) == 0) event(line.substr(6));  // others: comments, blank lines
    }
    return true;
  }

 private:
  void event(const std::string& data) {
    if (data == "[DONE]") return;
    const json chunk = json::parse(data, nullptr, false);
    if (chunk.is_discarded()) return;
    if (chunk.contains("error")) t_.error = chunk["error"].value("message", "error in the stream");
    if (chunk.contains("usage") && chunk["usage"].is_object()) {
      t_.prompt_tokens = chunk["usage"].value("prompt_tokens", 0);
      t_.output_tokens = chunk["usage"].value("completion_tokens", 0);
    }
    if (!chunk.contains("choices") || chunk["choices"].empty()) return;
    const json& choice = chunk["choices"][0];
    std::string text;
    if (choice.contains("text") && choice["text"].is_string()) text = choice["text"];
    if (choice.contains("delta") && choice["delta"].contains("content") &&
        choice["delta"]["content"].is_string())
      text = choice["delta"]["content"];
    if (text.empty()) return;
    const double now = seconds_since(start_);
    if (t_.text.empty())
      t_.ttft_s = now;
    else
      t_.itl_s.push_back(now - last_);
    last_ = now;
    t_.text += text;
  }

  RequestTiming& t_;
  Clock::time_point start_;
  std::string buffer_;
  double last_ = 0;
};

}  // namespace

RequestTiming send_request(const Target& target, const ClientRequest& r) {
  RequestTiming t;
  httplib::Client http(target.base_url);
  http.set_read_timeout(600);
  httplib::Headers headers;
  if (!target.api_key.empty()) headers.emplace("Authorization", "Bearer " + target.api_key);
  const Clock::time_point start = Clock::now();
  StreamReader reader(t, start);
  std::string error_body;
  int status = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = target.endpoint;
  req.headers = headers;
  req.body = request_body(target, r).dump();
  req.set_header("Content-Type", "application/json");
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    if (status != 200) {
      error_body.append(data, size);
      return true;
    }
    return reader.feed(data, size);
  };
  const httplib::Result result = http.send(req);
  t.latency_s = seconds_since(start);
  if (!result) {
    t.error = "no response: " + httplib::to_string(result.error());
  } else if (status != 200) {
    const json body = json::parse(error_body, nullptr, false);
    t.error = fmt::format("HTTP {}: {}", status,
                          body.is_object() && body.contains("error")
                              ? body["error"].value("message", error_body)
                              : error_body);
  } else if (t.error.empty()) {
    t.success = true;
    if (t.prompt_tokens == 0) t.prompt_tokens = r.prompt_len;  // a server without usage
    if (t.output_tokens == 0 && !t.text.empty())
      t.output_tokens = static_cast<int>(t.itl_s.size()) + 1;
  }
  return t;
}

}  // namespace kvscope::serve
