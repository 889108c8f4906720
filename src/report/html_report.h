#pragma once
// `kvscope report --html`: one self-contained page (inline CSS and SVG, nothing fetched) with
// each result's tables and charts.
#include <string>
#include <vector>

#include "report/suite_report.h"

namespace kvscope::report {

std::string html_report(const std::vector<SuiteReport>& reports);

}  // namespace kvscope::report
