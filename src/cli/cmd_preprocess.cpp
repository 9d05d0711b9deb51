// clipdex preprocess IMAGE --size N --out FILE.safetensors: the model input for one image,
// written as tensor "pixels" (float32 [3, N, N]) for debugging and parity checks.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "clipdex/images.h"

namespace clipdex::cli {

void register_preprocess(CLI::App& app) {
  struct Options {
    std::string image, out;
    PreprocessOptions preprocess;
    bool no_exif = false;
  };
  auto o = std::make_shared<Options>();
  auto& p = o->preprocess;
  auto* cmd = app.add_subcommand("preprocess", "Decode and preprocess one image into a safetensors file");
  cmd->add_option("image", o->image, "Image file (JPEG, PNG, WebP, GIF, BMP)")->required();
  cmd->add_option("--out", o->out, "Output .safetensors file")->required();
  cmd->add_option("--size", p.size, "Output side N")->capture_default_str()->check(CLI::Range(1, 8192));
  cmd->add_option("--interpolation", p.interpolation, "bicubic, bilinear or nearest")->capture_default_str();
  cmd->add_option("--resize-mode", p.resize_mode, "shortest or squash")->capture_default_str();
  cmd->add_option("--max-pixels", p.max_pixels, "Refuse larger images")->capture_default_str()->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34));
  cmd->add_flag("--no-exif-orientation", o->no_exif, "Do not apply the EXIF orientation tag");
  cmd->add_flag("--reduced-decode", p.reduced_decode, "Decode large JPEGs at a reduced DCT scale first, as index and search do "
                                                      "by default (without it: exact, PIL's pixels)");
  cmd->callback([o] {
    o->preprocess.exif_orientation = !o->no_exif;
    const int n = o->preprocess.size;
    write_safetensors_f32(o->out, "pixels", {3, n, n}, preprocess_image_file(o->image, o->preprocess));
  });
}

}  // namespace clipdex::cli
