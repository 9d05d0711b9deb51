#pragma once
// libheif's own AV1 decoder (dav1d) lets a frame be as large as 32768 x 32768, whatever size the
// container gives: a 418-byte AVIF made dav1d allocate 353 MB (fuzz/seeds/avif-frame-larger-than-ispe.avif). clipdex
// registers an AV1 decoder of its own, also on dav1d, that bounds the frame by the caller's pixel
// budget. It decodes only inside a BoundedAv1Scope, on that thread; elsewhere libheif keeps its own.
#include <cstdint>

namespace clipdex::image::detail {

class BoundedAv1Scope {
 public:
  explicit BoundedAv1Scope(uint64_t max_pixels);  // registers the decoder with libheif once
  ~BoundedAv1Scope();
  BoundedAv1Scope(const BoundedAv1Scope&) = delete;
  BoundedAv1Scope& operator=(const BoundedAv1Scope&) = delete;

 private:
  uint64_t previous_;
};

}  // namespace clipdex::image::detail
