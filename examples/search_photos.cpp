// Index a folder of photos and search it, with the public C++ API (docs/LIBRARY.md).
//   search_photos MODEL FOLDER DB "a query" [--since 2023-06] [--format jpeg]
#include <clipdex/clipdex.h>

#include <cstring>
#include <iostream>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: search_photos MODEL FOLDER DB QUERY [--since DATE] [--format FORMAT]\n";
    return 2;
  }
  try {
    const clipdex::Model model = clipdex::Model::open(argv[1]);
    clipdex::Library library = clipdex::Library::open(argv[3], clipdex::Library::Create);

    clipdex::IndexOptions options;
    options.on_progress = [](int64_t done, int64_t total) { std::cerr << "\rindexed " << done << "/" << total; };
    const clipdex::IndexReport report = library.index(model, {argv[2]}, options);
    std::cerr << "\n" << report.embedded << " new images, " << library.images() << " in the library\n";

    clipdex::Query query;
    query.text(argv[4]).k = 5;
    for (int i = 5; i + 1 < argc; i += 2) {
      if (!std::strcmp(argv[i], "--since")) query.filters.since = argv[i + 1];
      if (!std::strcmp(argv[i], "--format")) query.filters.formats.push_back(argv[i + 1]);
    }
    for (const clipdex::ImageHit& hit : library.search(model, query))
      std::cout << hit.score << "\t" << hit.path << "\t" << hit.date << "\n";
  } catch (const clipdex::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
