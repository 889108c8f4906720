#pragma once
// The pieces of the extension module, each registered by its own file.
#include <nanobind/nanobind.h>

namespace kvscope::python {

void bind_model(nanobind::module_& m);    // Model, tokenizer, logits, Generation
void bind_metrics(nanobind::module_& m);  // Metrics, Tracker
void bind_bench(nanobind::module_& m);    // the bench suites

}  // namespace kvscope::python
