#pragma once
// Image resizing that reproduces Pillow's Image.resize() bit for bit (Pillow 9.x, Resample.c):
// separable passes (horizontal, then vertical), filter support scaled by the reduction factor,
// coefficients normalised then rounded to 22-bit fixed point, uint8 rounding after each pass.
// Nearest-neighbour follows Pillow's affine scaling path, used for palette and 1-bit images.
#include "image/image.h"

namespace clipdex::image {

enum class Filter { Nearest, Bilinear, Bicubic };

// Resizes in the image's own layout. For LA/RGBA images with a non-nearest filter this
// premultiplies alpha first and divides it out after, as Pillow does.
Image resize(const Image& im, int out_width, int out_height, Filter filter);

}  // namespace clipdex::image
