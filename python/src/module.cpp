// kvscope._kvscope: the C++ engine as the kvscope package sees it (python/kvscope wraps it).
#include "bindings.h"
#include "core/error.h"

NB_MODULE(_kvscope, m) {
  m.doc() = "kvscope's C++ engine; use the kvscope package rather than this module";
  nanobind::exception<kvscope::Error>(m, "Error");
  kvscope::python::bind_model(m);
  kvscope::python::bind_metrics(m);
  kvscope::python::bind_bench(m);
}
