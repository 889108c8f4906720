#include "serve/api_error.h"

namespace kvscope::serve {
namespace {

nlohmann::json null_if_empty(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

nlohmann::json ApiError::body() const {
  return {{"error",
           {{"message", what()},
            {"type", type_},
            {"param", null_if_empty(param_)},
            {"code", null_if_empty(code_)}}}};
}

void bad_field(const std::string& param, const std::string& message) {
  throw ApiError(400, message, "invalid_request_error", param);
}

ApiError status_error(int status) {
  switch (status) {
    case 404:
      return ApiError(404,
                      "no such endpoint (POST /v1/completions, /v1/chat/completions; GET "
                      "/v1/models, /health, /metrics)",
                      "invalid_request_error", "", "unknown_url");
    case 405:
      return ApiError(405, "method not allowed on this endpoint");
    case 413:
      return ApiError(413, "the request body is larger than the server's --max-body",
                      "invalid_request_error", "", "request_too_large");
    default:
      if (status < 500) return ApiError(status, "bad request");
      return ApiError(status, "the server failed to handle the request", "server_error");
  }
}

}  // namespace kvscope::serve
