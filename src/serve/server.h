#pragma once
// The OpenAI-compatible HTTP server: POST /v1/completions and /v1/chat/completions, GET
// /v1/models, /health and /metrics. HTTP threads parse, apply the chat template and tokenize;
// the EngineLoop's one thread steps the engine.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "engine/engine.h"

namespace httplib {
class Server;
}

namespace kvscope::serve {

class EngineLoop;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;      // 0: any free port
  std::string api_key;  // empty: none asked
  size_t max_body = 1 << 20;
  int max_queue = 64;
  std::string model_name;  // what /v1/models and responses call the model
  EngineOptions engine;
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();

  // Binds the address and answers in the background (/health says 503 until attach()); returns
  // the port. Error when the address cannot be bound.
  int start();
  // Serves `model` (which must outlive the server) from now on.
  void attach(const Model& model);
  // In-flight requests end with an error; then the HTTP threads are joined.
  void stop();

 private:
  struct Handlers;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Handlers> handlers_;
  std::thread listener_;
  int listen_socket_ = -1;  // the socket the library bound, to widen its backlog
};

}  // namespace kvscope::serve
