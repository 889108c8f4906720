#pragma once
// An error as the OpenAI API returns it: an HTTP status and the envelope
// {"error": {"message", "type", "param", "code"}}. Thrown by request parsing and the server.
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace kvscope::serve {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error",
           std::string param = "", std::string code = "")
      : std::runtime_error(message),
        status_(status),
        type_(std::move(type)),
        param_(std::move(param)),
        code_(std::move(code)) {}

  int status() const { return status_; }
  // The envelope; an empty param or code is null, as OpenAI sends them.
  nlohmann::json body() const;

 private:
  int status_;
  std::string type_, param_, code_;
};

// A 400 naming the field at fault.
[[noreturn]] void bad_field(const std::string& param, const std::string& message);

// The envelope of a status that carries no ApiError of its own (404, 413, 500, ...).
ApiError status_error(int status);

}  // namespace kvscope::serve
