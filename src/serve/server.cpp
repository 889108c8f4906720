#include "serve/server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include "core/error.h"
#include "serve/api_error.h"
#include "serve/api_request.h"
#include "serve/api_response.h"
#include "serve/engine_loop.h"
#include "serve/engine_request.h"

namespace kvscope::serve {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// How long a stream may stay silent before the first token: then a comment line (": ping")
// goes out, and a client that has gone is noticed by the failed write, during prefill too. A
// request that is not streamed looks at its connection as often.
constexpr milliseconds kPingInterval{250};

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) { send_json(res, e.status(), e.body()); }

std::string new_id(Endpoint endpoint) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return fmt::format("{}-{:016x}", endpoint == Endpoint::kChat ? "chatcmpl" : "cmpl",
                     salt ^ (++counter * 0x9e3779b97f4a7c15ull));
}

bool write(httplib::DataSink& sink, const std::string& text) {
  return sink.write(text.data(), text.size());
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The port and address text of a socket's end, as the library writes Request::remote_addr.
std::pair<std::string, int> address_of(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return {text, ntohs(in.sin_port)};
  }
  if (a.ss_family == AF_INET6) {
    const auto& in = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &in.sin6_addr, text, sizeof text);
    return {text, ntohs(in.sin6_port)};
  }
  return {"", -1};
}

// The socket of a request's connection, or -1. cpp-httplib 0.11 (Debian's) does not hand a
// handler its connection, so it is found among the process's sockets by its two ends (the
// client's address and the server's port), which no other open connection shares. Used once per
// request that is not streamed.
int connection_socket(const httplib::Request& req, int server_port) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_size = sizeof peer, local_size = sizeof local;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0)
      continue;
    if (address_of(peer) == std::pair(req.remote_addr, req.remote_port) &&
        address_of(local).second == server_port)
      return fd;
  }
  return -1;
}

// Whether the client closed its end: a read that would not block finds the end of the stream
// (or a reset). A request body is read whole before the handler runs, so nothing else is there
// but a pipelined next request, which means the client is still there.
bool client_closed(int fd) {
  char byte;
  const ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

// One request from submission to its last byte, shared by the handler and a stream's writer.
struct Reply {
  ReplyHeader header;
  ApiRequest api;
  Submitted submitted;
  Clock::time_point start = Clock::now();
  std::vector<TokenLogprob> logprobs;
  size_t text_offset = 0;  // bytes of text sent so far (completions' text_offset)
  bool opened = false;     // chat's role chunk is out
  bool got_token = false;  // the first token has come: no more pings
  bool ended = false;
  bool counted = false;  // among Handlers::open_streams
};

void log_line(const Reply& r, int status, const std::string& note) {
  fmt::print(stderr, "{} {} {} {:.1f} ms {}\n", r.header.id,
             r.header.endpoint == Endpoint::kChat ? "chat" : "completions", status,
             ms_since(r.start), note);
}

std::string finished_note(const RequestOutput& out) {
  const double ttft =
      out.token_times.empty()
          ? 0
          : std::chrono::duration<double, std::milli>(out.token_times.front() - out.arrival)
                .count();
  return fmt::format("prompt {} (cached {}) generated {} ttft {:.1f} ms stop {}", out.prompt_tokens,
                     out.cached_tokens, out.token_times.size(), ttft, finish_reason(out.stop));
}

}  // namespace

struct Server::Handlers {
  const ServerOptions& options;
  const Tokenizer* tokenizer = nullptr;
  const Model* model = nullptr;
  std::unique_ptr<EngineLoop> loop;
  std::atomic<bool> ready{false};
  std::atomic<int> open_streams{0};  // streams that have not written their end yet
  int port = 0;                      // the port it listens on

  explicit Handlers(const ServerOptions& o) : options(o) {}

  bool authorized(const httplib::Request& req, httplib::Response& res) const {
    if (options.api_key.empty() ||
        req.get_header_value("Authorization") == "Bearer " + options.api_key)
      return true;
    send_error(res, ApiError(401, "Incorrect or missing API key (send 'Authorization: Bearer KEY')",
                             "invalid_request_error", "", "invalid_api_key"));
    return false;
  }

  bool loaded(httplib::Response& res) const {
    if (ready.load()) return true;
    send_error(res, ApiError(503, "the model is still loading", "server_error"));
    return false;
  }

  void health(httplib::Response& res) const {
    if (ready.load())
      send_json(res, 200, {{"status", "ok"}});
    else
      send_json(res, 503, {{"status", "loading model"}});
  }

  void models(const httplib::Request& req, httplib::Response& res) const {
    if (!authorized(req, res) || !loaded(res)) return;
    send_json(res, 200,
              {{"object", "list"},
               {"data",
                {{{"id", options.model_name},
                  {"object", "model"},
                  {"created", 0},
                  {"owned_by", "kvscope"},
                  {"max_model_len", loop->n_ctx()}}}}});
  }

  void metrics(httplib::Response& res) const {
    if (!loaded(res)) return;
    res.set_content(loop->metrics_text(), "text/plain; version=0.0.4");
  }

  void complete(Endpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    auto reply = std::make_shared<Reply>();
    reply->header = {endpoint, new_id(endpoint), static_cast<int64_t>(std::time(nullptr)),
                     options.model_name};
    try {
      if (!authorized(req, res) || !loaded(res)) {
        log_line(*reply, res.status, "refused");
        return;
      }
      reply->api = parse_request(endpoint, req.body);
      Request request = engine_request(reply->api, *model, loop->n_ctx());
      const int top = reply->api.logprobs ? reply->api.top_logprobs : -1;
      reply->submitted = loop->submit(std::move(request), top);
    } catch (const ApiError& e) {
      send_error(res, e);
      log_line(*reply, e.status(), e.what());
      return;
    }
    if (reply->api.stream)
      stream(reply, res);
    else
      answer(*reply, req, res);
  }

  // Waits for the whole output, then answers at once; a client that closes its connection in
  // the meantime cancels the request, as a stream's failed write does.
  void answer(Reply& r, const httplib::Request& req, httplib::Response& res) {
    const int fd = connection_socket(req, port);
    for (;;) {
      for (const Event& e : r.submitted.channel->take(kPingInterval)) {
        if (e.kind == Event::Kind::kToken && e.logprob) r.logprobs.push_back(*e.logprob);
        if (e.kind == Event::Kind::kError) {
          const ApiError error(503, e.text, "server_error");
          send_error(res, error);
          log_line(r, 503, e.text);
          return;
        }
        if (e.kind == Event::Kind::kFinish) {
          const json logprobs =
              r.api.logprobs ? logprobs_json(r.header.endpoint, r.logprobs, *tokenizer) : json();
          send_json(res, 200, response_json(r.header, e.output, logprobs));
          log_line(r, 200, finished_note(e.output));
          return;
        }
      }
      if (fd >= 0 && client_closed(fd)) {
        loop->cancel(r.submitted.id);
        log_line(r, 499, "client went away: cancelled");
        return;
      }
    }
  }

  // Server-sent events as OpenAI sends them; a failed write cancels the request.
  void stream(const std::shared_ptr<Reply>& reply, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    ++open_streams;
    reply->counted = true;
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, reply](size_t, httplib::DataSink& sink) { return write_events(*reply, sink); },
        [this, reply](bool) {
          uncount(*reply);
          if (reply->ended) return;
          loop->cancel(reply->submitted.id);
          log_line(*reply, 499, "client went away: cancelled");
        });
  }

  bool write_events(Reply& r, httplib::DataSink& sink) {
    if (r.header.endpoint == Endpoint::kChat && !r.opened) {
      r.opened = true;  // the role chunk opens the stream at once
      return write(sink, sse_event(chunk_json(r.header, "", nullptr, nullptr, true)));
    }
    const std::vector<Event> events = r.submitted.channel->take(kPingInterval);
    if (events.empty()) return r.got_token || write(sink, ": ping\n\n");
    std::string out;
    for (const Event& e : events) out += event_text(r, e);
    // An empty chunk would end the chunked body: write only when there is text.
    if (!out.empty() && !write(sink, out)) return false;
    if (r.ended) {
      sink.done();
      uncount(r);
    }
    return true;
  }

  void uncount(Reply& r) {
    if (r.counted) --open_streams;
    r.counted = false;
  }

  std::string event_text(Reply& r, const Event& e) {
    switch (e.kind) {
      case Event::Kind::kToken: {
        r.got_token = true;
        json logprobs;
        if (e.logprob)
          logprobs = logprobs_json(r.header.endpoint, {*e.logprob}, *tokenizer, r.text_offset);
        r.text_offset += e.text.size();
        if (e.text.empty() && !e.logprob) return "";
        return sse_event(chunk_json(r.header, e.text, logprobs, nullptr));
      }
      case Event::Kind::kFinish: {
        r.ended = true;
        log_line(r, 200, finished_note(e.output));
        std::string out = sse_event(chunk_json(r.header, "", nullptr, &e.output));
        if (r.api.include_usage) out += sse_event(usage_chunk_json(r.header, e.output));
        return out + kSseDone;
      }
      case Event::Kind::kError:
        r.ended = true;
        log_line(r, 503, e.text);
        return sse_event(ApiError(503, e.text, "server_error").body()) + kSseDone;
    }
    return "";
  }
};

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      http_(std::make_unique<httplib::Server>()),
      handlers_(std::make_unique<Handlers>(options_)) {
  Handlers& h = *handlers_;
  // A thread per connection that may be running or queued, and a few for /health and /metrics.
  const size_t threads = static_cast<size_t>(options_.engine.max_seqs + options_.max_queue + 8);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_payload_max_length(options_.max_body);
  http_->set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  http_->Get("/health", [&h](const httplib::Request&, httplib::Response& res) { h.health(res); });
  http_->Get("/metrics", [&h](const httplib::Request&, httplib::Response& res) { h.metrics(res); });
  http_->Get("/v1/models",
             [&h](const httplib::Request& req, httplib::Response& res) { h.models(req, res); });
  http_->Post("/v1/completions", [&h](const httplib::Request& req, httplib::Response& res) {
    h.complete(Endpoint::kCompletions, req, res);
  });
  http_->Post("/v1/chat/completions", [&h](const httplib::Request& req, httplib::Response& res) {
    h.complete(Endpoint::kChat, req, res);
  });
  // Statuses the library sets itself (404, 413, ...) get OpenAI's envelope too.
  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        send_error(res, status_error(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        fmt::print(stderr, "kvscope serve: internal error: {}\n", what);
        send_error(res, ApiError(500, "internal error: " + what, "server_error"));
      });
}

Server::~Server() { stop(); }

int Server::start() {
  int port = options_.port;
  if (port == 0)
    port = http_->bind_to_any_port(options_.host);
  else if (!http_->bind_to_port(options_.host, port))
    port = -1;
  if (port <= 0)
    fail("cannot listen on {}:{} (is the port taken, or the address not this machine's?)",
         options_.host, options_.port);
  // The library listens with a backlog of 5: a burst of clients (32 streams starting at once)
  // overflows it, and the kernel's SYN cookies then lose some connections. Listening again on
  // the bound socket raises the backlog to the system's limit.
  if (::listen(listen_socket_, SOMAXCONN) != 0)
    fail("cannot listen on {}:{}: {}", options_.host, port, std::strerror(errno));
  handlers_->port = port;
  listener_ = std::thread([this] { http_->listen_after_bind(); });
  return port;
}

void Server::attach(const Model& model) {
  handlers_->model = &model;
  handlers_->tokenizer = &model.tokenizer();
  handlers_->loop = std::make_unique<EngineLoop>(model, options_.engine, options_.max_queue);
  handlers_->ready.store(true);
}

void Server::stop() {
  if (handlers_->loop) handlers_->loop->stop();
  // Every open stream has its error event by now: let them write it and end before the sockets
  // close (for at most a few seconds, if a client stopped reading).
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (handlers_->open_streams.load() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // their last chunks go out
  if (listener_.joinable()) {
    http_->stop();
    listener_.join();
  }
}

}  // namespace kvscope::serve
