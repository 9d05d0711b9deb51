#pragma once
// Between the public types (include/clipdex/) and the components' own, for the api's files.
#include "clipdex/clipdex.h"
#include "model/clip_model.h"
#include "pipeline/library.h"
#include "search/searcher.h"

namespace clipdex::api {

// A device option as given ("" = $CLIPDEX_DEVICE, else "cpu").
std::string device_or_default(const std::string& device);

// How the public options load a model (precision and device parsed; InputError when invalid).
model::LoadOptions load_options(const ModelOptions& options);

// Filters as the catalog applies them (InputError for a bad date, format or size).
store::ContentFilter content_filter(const Filters& f);
ImageHit public_hit(search::ImageHit&& h);
// Refuses another model's vectors; binds and remembers the model of an empty library.
void bind_model(pipeline::Library& lib, const Model& model);

}  // namespace clipdex::api
