// The metrics of a sequence (run --metrics-json's fields, run --metrics' block) and the Tracker
// for generation loops that kvscope does not run. The definitions are src/metrics'.
#include <nanobind/stl/string.h>

#include "bindings.h"
#include "generation.h"
#include "metrics/tracker.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace kvscope::python {

void bind_metrics(nb::module_& m) {
  nb::class_<Metrics>(m, "Metrics")
      .def("json",
           [](const Metrics& x) { return request_metrics_json(x.request, x.memory).dump(); })
      .def(
          "format",
          [](const Metrics& x, bool detailed, size_t index, size_t count) {
            return format_request_metrics(x.request, x.memory, index, count, detailed);
          },
          "detailed"_a, "index"_a, "count"_a);

  nb::class_<Tracker>(m, "Tracker")
      .def(nb::init<>())
      .def("start", &Tracker::start)
      .def("log_token", &Tracker::log_token, "n"_a, "is_input"_a)
      .def("log_first_token", &Tracker::log_first_token)
      .def("log_step", &Tracker::log_step)
      .def("stop", &Tracker::stop)
      .def_prop_ro("steps", &Tracker::steps)
      .def(
          "metrics",
          [](const Tracker& t, int discard_first) {
            return Metrics{t.metrics(discard_first), t.memory()};
          },
          "discard_first"_a)
      .def(
          "json", [](const Tracker& t, int discard_first) { return t.json(discard_first).dump(); },
          "discard_first"_a);
}

}  // namespace kvscope::python
