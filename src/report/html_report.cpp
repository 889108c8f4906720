#include "report/html_report.h"

#include <fmt/format.h>

#include "metrics/system.h"
#include "report/html.h"

namespace kvscope::report {
namespace {

constexpr const char* kStyle = R"(
body { font-family: 'DejaVu Sans', sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
p.system { color: #555; } .provenance { color: #777; font-size: 0.8em; } p.source { color: #777; font-size: 0.85em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
caption { text-align: left; color: #555; padding-bottom: 0.3em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f3f3; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
)";

// The page checks itself when opened: every chart must have drawn. A failure shows in the
// browser's console, which the report's test reads.
constexpr const char* kSelfCheck = R"(
(function () {
  const figures = document.querySelectorAll('figure');
  figures.forEach(function (figure) {
    const svg = figure.querySelector('svg');
    if (!svg || svg.getBoundingClientRect().width === 0) throw new Error('chart not drawn: ' + figure.id);
  });
  if (figures.length !== Number(document.body.dataset.charts)) throw new Error('charts missing');
})();
)";

// The page's own: the kvscope that wrote it, and when.
std::string report_provenance() {
  const BuildInfo& b = build_info();
  return fmt::format("Written by kvscope {} ({}{}) on {}", b.version, b.commit,
                     b.dirty ? ", dirty" : "", utc_date());
}

std::string table_html(const ReportTable& table) {
  std::string out = fmt::format("<table>\n<caption>{}</caption>\n<tr>", html_escape(table.caption));
  for (const std::string& h : table.headers) out += fmt::format("<th>{}</th>", html_escape(h));
  out += "</tr>\n";
  for (const auto& row : table.rows) {
    out += "<tr>";
    for (const std::string& cell : row) out += fmt::format("<td>{}</td>", html_escape(cell));
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

}  // namespace

std::string html_report(const std::vector<SuiteReport>& reports) {
  size_t charts = 0;
  std::string sections;
  for (size_t i = 0; i < reports.size(); ++i) {
    const SuiteReport& r = reports[i];
    sections += fmt::format(
        "<section id=\"result-{}\">\n<h2>{}</h2>\n<p class=\"system\">{}</p>\n<p "
        "class=\"source\">{}: {}</p>\n<p class=\"provenance\">{}</p>\n",
        i + 1, html_escape(r.heading), html_escape(r.system), html_escape(r.suite),
        html_escape(r.source),
        html_escape(r.provenance.empty() ? "provenance not recorded" : r.provenance));
    for (const ReportTable& t : r.tables) sections += table_html(t);
    for (const Chart& c : r.charts) {
      sections += fmt::format("<figure id=\"{}-{}\">\n{}</figure>\n", c.name, i + 1, chart_svg(c));
      ++charts;
    }
    sections += "</section>\n";
  }
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>kvscope "
      "report</title>\n"
      "<style>{}</style>\n</head>\n<body data-charts=\"{}\">\n<h1>kvscope "
      "report</h1>\n{}<footer "
      "class=\"provenance\">{}</footer>\n<script>{}</script>\n</body>\n</html>\n",
      kStyle, charts, sections, html_escape(report_provenance()), kSelfCheck);
}

}  // namespace kvscope::report
