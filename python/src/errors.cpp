// clipdex's exceptions as Python exceptions: clipdex.Error and its subclasses, each also a
// subclass of the built-in a Python caller would catch (ValueError for bad input, OSError ...).
#include <string>

#include <nanobind/stl/string.h>

#include "bindings.h"
#include "clipdex/error.h"

namespace nb = nanobind;

namespace clipdex::python {

void bind_errors(nb::module_& m) {
  // Registered base first: nanobind tries the most recently registered translator first, so a
  // subclass is matched before clipdex.Error.
  nb::exception<clipdex::Error> error(m, "Error");
  // The classes live as long as the process (the module is never unloaded): raw references.
  const auto subclass = [&](const char* name, PyObject* builtin) {
    const std::string qualified = nb::cast<std::string>(m.attr("__name__")) + "." + name;
    PyObject* cls = PyErr_NewException(qualified.c_str(),
                                       nb::make_tuple(error, nb::handle(builtin)).ptr(), nullptr);
    if (!cls) throw nb::python_error();
    m.attr(name) = nb::handle(cls);
    return cls;
  };
  static PyObject* input = subclass("InputError", PyExc_ValueError);
  static PyObject* io = subclass("IoError", PyExc_OSError);
  static PyObject* partial = subclass("PartialFailure", PyExc_RuntimeError);
  static PyObject* busy = subclass("LibraryBusy", PyExc_RuntimeError);
  static PyObject* cancelled = subclass("Cancelled", PyExc_RuntimeError);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const clipdex::InputError& e) {
      PyErr_SetString(input, e.what());
    } catch (const clipdex::IoError& e) {
      PyErr_SetString(io, e.what());
    } catch (const clipdex::PartialFailure& e) {
      PyErr_SetString(partial, e.what());
    } catch (const clipdex::LibraryBusy& e) {
      PyErr_SetString(busy, e.what());
    } catch (const clipdex::Cancelled& e) {
      PyErr_SetString(cancelled, e.what());
    }
  });
}

}  // namespace clipdex::python
