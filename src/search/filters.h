#pragma once
// Search filters as people write them (CLI flags, HTTP parameters): folder, path glob, date
// range, minimum size, format — parsed into the catalog's ContentFilter. One parser for every
// front end, so `--since 2023-05` and `?since=2023-05` mean the same.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "store/catalog.h"

namespace clipdex::search {

struct ImageHit;

// "2023", "2023-05", "2023-05-17", "2023-05-17T10:30" or "...T10:30:15" ('T' or a space):
// the first second of the period it names, or with `end` its last second. Dates are wall-clock
// times read as UTC, as EXIF dates are stored. InputError when malformed.
int64_t parse_date_bound(const std::string& text, bool end);
// Seconds since 1970 as "YYYY-MM-DDTHH:MM:SS".
std::string format_date(int64_t seconds);

// The filter fields: folder, path, since, until, min_width, min_height, format. Adds one (the
// repeatable ones — folder, path, format — accumulate; a comma also separates formats).
// InputError on an unknown name or a bad value.
void add_filter_field(store::ContentFilter& filter, const std::string& name, const std::string& value);
bool is_filter_field(const std::string& name);

// "Make Model" as people say it (the make once, when the model repeats it); "" when unknown.
std::string camera_name(const store::ImageMetadata& metadata);

// The fields results show beyond id / path / score: date, date_source, format, camera.
void put_image_details(nlohmann::json& out, const ImageHit& hit);

}  // namespace clipdex::search
