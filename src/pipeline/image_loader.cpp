#include "pipeline/image_loader.h"

#include "pipeline/parallel_batches.h"

namespace clipdex::pipeline {

void load_images(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg,
                 const LoaderOptions& options, const std::function<void(std::vector<LoadedImage>&)>& on_batch) {
  parallel_batches<LoadedImage>(
      paths.size(), options.threads, options.batch_size, options.max_queued,
      [&](size_t i) {
        LoadedImage item;
        item.index = i;
        try {
          image::SourceInfo size;
          const image::Image im = image::decode_image_file(paths[i], options.decode, &size);
          item.width = size.width;
          item.height = size.height;
          item.pixels = image::preprocess(im, cfg);
        } catch (const std::exception& e) {
          item.error = e.what();
        }
        return item;
      },
      on_batch);
}

}  // namespace clipdex::pipeline
