#pragma once
// The parts of the _clipdex module, each registered by one function (module.cpp calls them).
#include <nanobind/nanobind.h>

namespace clipdex::python {

void bind_errors(nanobind::module_& m);
void bind_model(nanobind::module_& m);
void bind_library(nanobind::module_& m);
void bind_finetune(nanobind::module_& m);

}  // namespace clipdex::python
