// clipdex preprocess IMAGE --size N --out FILE.safetensors: the model input for one image,
// written as tensor "pixels" (float32 [3, N, N]) for debugging and parity checks.
#include <string>

#include "cli/commands.h"
#include "core/safetensors.h"
#include "image/decode.h"
#include "image/preprocess.h"

namespace clipdex::cli {

void register_preprocess(CLI::App& app) {
  struct Options {
    std::string image, out, interpolation = "bicubic", resize_mode = "shortest";
    int size = 224;
    bool no_exif = false, reduced = false;
    uint64_t max_pixels = 100'000'000;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("preprocess", "Decode and preprocess one image into a safetensors file");
  cmd->add_option("image", o->image, "Image file (JPEG, PNG, WebP, GIF, BMP)")->required();
  cmd->add_option("--out", o->out, "Output .safetensors file")->required();
  cmd->add_option("--size", o->size, "Output side N")->capture_default_str()->check(CLI::Range(1, 8192));
  cmd->add_option("--interpolation", o->interpolation, "bicubic, bilinear or nearest")->capture_default_str();
  cmd->add_option("--resize-mode", o->resize_mode, "shortest or squash")->capture_default_str();
  cmd->add_option("--max-pixels", o->max_pixels, "Refuse larger images")->capture_default_str()->check(CLI::Range(uint64_t{1}, uint64_t{1} << 34));
  cmd->add_flag("--no-exif-orientation", o->no_exif, "Do not apply the EXIF orientation tag");
  cmd->add_flag("--reduced-decode", o->reduced, "Decode large JPEGs at a reduced DCT scale first, as index and search do "
                                                "by default (without it: exact, PIL's pixels)");
  cmd->callback([o] {
    image::DecodeOptions dopt;
    dopt.max_pixels = o->max_pixels;
    dopt.apply_exif_orientation = !o->no_exif;
    if (o->reduced) dopt.reduce_to = o->size;
    image::PreprocessConfig cfg;
    cfg.size = o->size;
    cfg.interpolation = image::parse_filter(o->interpolation);
    cfg.resize_mode = image::parse_resize_mode(o->resize_mode);
    const auto pixels = image::preprocess(image::decode_image_file(o->image, dopt), cfg);
    write_safetensors(o->out, {{"pixels", make_f32_tensor({3, o->size, o->size}, pixels)}});
  });
}

}  // namespace clipdex::cli
