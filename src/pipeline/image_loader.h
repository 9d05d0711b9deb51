#pragma once
// Decode + preprocess on worker threads, handing finished images to the caller in batches, so
// that file decoding overlaps with model inference. Failures are reported per item; they never
// stop the stream.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "image/decode.h"
#include "image/preprocess.h"

namespace clipdex::pipeline {

struct LoadedImage {
  size_t index = 0;          // position in the input list
  std::vector<float> pixels; // [3, S, S]; empty on failure
  int width = 0, height = 0; // decoded size (after EXIF orientation)
  std::string error;         // set on failure
};

struct LoaderOptions {
  size_t threads = 0;     // 0: hardware threads
  size_t batch_size = 32;
  size_t max_queued = 0;  // decoded images waiting for the model; 0: 2 x batch_size
  image::DecodeOptions decode;
};

// Calls on_batch with successive batches of loaded images (in completion order) until every
// path was handled. on_batch runs on the calling thread, while workers keep decoding.
void load_images(const std::vector<std::string>& paths, const image::PreprocessConfig& cfg,
                 const LoaderOptions& options, const std::function<void(std::vector<LoadedImage>&)>& on_batch);

}  // namespace clipdex::pipeline
