// _clipdex: the Python face of the public C++ API (include/clipdex/clipdex.h). Every call that
// computes or touches the disk releases the GIL, so Python threads run alongside it.
#include "bindings.h"

NB_MODULE(_clipdex, m) {
  m.doc() = "clipdex: CLIP image-text retrieval (the C++ library's Python binding)";
  clipdex::python::bind_errors(m);
  clipdex::python::bind_model(m);
  clipdex::python::bind_library(m);
  clipdex::python::bind_finetune(m);
}
