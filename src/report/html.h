#pragma once
// Escaping text for HTML and XML, shared by the report and the KV-cache page.
#include <string>
#include <string_view>

namespace kvscope::report {

std::string html_escape(std::string_view text);

}  // namespace kvscope::report
