// Between the public types and the components' own.
#include "api/conversions.h"

#include <cstdlib>

#include "core/error.h"
#include "kernels/precision.h"
#include "search/filters.h"

namespace clipdex::api {

model::LoadOptions load_options(const ModelOptions& options) {
  model::LoadOptions load;
  load.architecture = options.arch;
  load.adapter = options.adapter;
  const auto precision = kernels::parse_precision(options.precision.empty() ? "auto" : options.precision);
  if (!precision) throw_input("precision must be auto, fp32, bf16, int8 or fp16, not '{}'", options.precision);
  load.precision = *precision;
  load.device = device_or_default(options.device);
  return load;
}

std::string device_or_default(const std::string& device) {
  if (!device.empty()) return device;
  const char* env = std::getenv("CLIPDEX_DEVICE");
  return env && *env ? env : "cpu";
}

store::ContentFilter content_filter(const Filters& f) {
  store::ContentFilter out;
  for (const auto& v : f.folders) search::add_filter_field(out, "folder", v);
  for (const auto& v : f.path_globs) search::add_filter_field(out, "path", v);
  for (const auto& v : f.formats) search::add_filter_field(out, "format", v);
  if (!f.since.empty()) search::add_filter_field(out, "since", f.since);
  if (!f.until.empty()) search::add_filter_field(out, "until", f.until);
  if (f.min_width < 0 || f.min_height < 0) throw InputError("minimum sizes must not be negative");
  out.min_width = f.min_width;
  out.min_height = f.min_height;
  return out;
}

ImageHit public_hit(search::ImageHit&& h) {
  ImageHit r;
  r.id = h.id;
  r.path = std::move(h.path);
  r.paths = std::move(h.paths);
  r.score = h.score;
  r.width = h.width;
  r.height = h.height;
  r.date = search::format_date(h.date);
  r.date_from_exif = h.metadata.taken_at.has_value();
  r.camera = search::camera_name(h.metadata);
  r.format = std::move(h.metadata.format);
  return r;
}

// Refuses another model's vectors; binds and remembers the model of an empty library.
void bind_model(pipeline::Library& lib, const Model& model) {
  lib.check_model(model.id(), /*bind_if_empty=*/true);
  const auto& o = model.options();
  lib.remember_model({model.path(), o.vocab, o.arch, o.text_model, o.adapter}, model.precision() == "int8");
}

}  // namespace clipdex::api
