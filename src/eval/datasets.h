#pragma once
// Evaluation data: caption sets for retrieval (Karpathy split JSON as used for Flickr30k and COCO,
// JSON lines {"image", "caption"}, or CSV image,caption) and class folders for zero-shot.
#include <string>
#include <vector>

namespace clipdex::eval {

struct CaptionSet {
  std::vector<std::string> images;     // image file paths
  std::vector<std::string> captions;
  std::vector<size_t> caption_image;   // caption -> index into images
};

// format by extension: .json (Karpathy: images[].filename/filepath/split/sentences[].raw),
// .jsonl, .csv. Image paths are resolved against images_dir. split filters Karpathy entries.
CaptionSet load_caption_set(const std::string& file, const std::string& images_dir, const std::string& split);

struct ClassFolders {
  std::vector<std::string> classes;  // folder names, '_' read as a space
  std::vector<std::string> images;
  std::vector<size_t> labels;
};

// One sub-folder per class holding its images.
ClassFolders load_class_folders(const std::string& dir);

}  // namespace clipdex::eval
