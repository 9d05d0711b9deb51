// clipdex.Model: open a checkpoint, embed texts and images into NumPy arrays.
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "arrays.h"
#include "bindings.h"
#include "clipdex/clipdex.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace clipdex::python {
namespace {

using RgbArray = nb::ndarray<const uint8_t, nb::ndim<3>, nb::device::cpu>;

// The images of one embed_images call, sorted by kind; `rows` says where each goes back.
struct ImageBatch {
  std::vector<std::string> paths;
  std::vector<size_t> path_rows;
  std::vector<nb::bytes> blobs;  // held so their buffers outlive the GIL-free work
  std::vector<size_t> blob_rows;
  std::vector<RgbArray> arrays;
  std::vector<size_t> array_rows;
  size_t count = 0;
};

ImageBatch sort_images(nb::handle images) {
  ImageBatch batch;
  for (nb::handle item : images) {
    const size_t row = batch.count++;
    if (nb::isinstance<nb::bytes>(item)) {
      batch.blobs.push_back(nb::borrow<nb::bytes>(item));
      batch.blob_rows.push_back(row);
    } else if (nb::isinstance<nb::str>(item) || nb::hasattr(item, "__fspath__")) {
      batch.paths.push_back(nb::cast<std::filesystem::path>(item).string());
      batch.path_rows.push_back(row);
    } else {
      RgbArray a;
      if (!nb::try_cast(item, a, /*convert=*/false))
        throw nb::type_error(("image " + std::to_string(row) +
                              ": expected a path, bytes of an encoded image, or a uint8 array [height, width, 3]")
                                 .c_str());
      if (a.shape(2) != 3) throw nb::value_error(("image " + std::to_string(row) + ": the last axis must hold R, G, B").c_str());
      if (a.stride(2) != 1 || a.stride(1) != 3)
        throw nb::value_error(("image " + std::to_string(row) + ": pixels must be packed RGB (rows may be padded)").c_str());
      batch.arrays.push_back(a);
      batch.array_rows.push_back(row);
    }
  }
  return batch;
}

void scatter(const std::vector<float>& rows, const std::vector<size_t>& where, size_t dim, std::vector<float>& out) {
  for (size_t i = 0; i < where.size(); ++i) std::memcpy(&out[where[i] * dim], &rows[i * dim], dim * sizeof(float));
}

FloatRows embed_images(const clipdex::Model& model, nb::handle images, bool normalize) {
  const ImageBatch batch = sort_images(images);
  const size_t dim = static_cast<size_t>(model.dim());
  std::vector<float> out(batch.count * dim);
  {
    nb::gil_scoped_release release;
    if (!batch.paths.empty()) scatter(model.embed_image_files(batch.paths, normalize), batch.path_rows, dim, out);
    if (!batch.blobs.empty()) {
      std::vector<std::span<const uint8_t>> spans;
      for (const auto& b : batch.blobs) spans.emplace_back(reinterpret_cast<const uint8_t*>(b.c_str()), b.size());
      scatter(model.embed_encoded_images(spans, normalize), batch.blob_rows, dim, out);
    }
    if (!batch.arrays.empty()) {
      std::vector<RgbImage> rgb;
      for (const auto& a : batch.arrays)
        rgb.push_back({a.data(), static_cast<int>(a.shape(1)), static_cast<int>(a.shape(0)), static_cast<size_t>(a.stride(0))});
      scatter(model.embed_rgb_images(rgb, normalize), batch.array_rows, dim, out);
    }
  }
  return to_numpy(std::move(out), batch.count, dim);
}

}  // namespace

void bind_model(nb::module_& m) {
  nb::class_<clipdex::Model>(m, "Model",
                             "A CLIP model: a folder (open_clip or Hugging Face layout), .safetensors, PyTorch .bin or "
                             "OpenAI TorchScript .pt. Immutable once opened; share it between threads.")
      .def(
          "__init__",
          [](clipdex::Model* self, const std::filesystem::path& path, std::optional<std::filesystem::path> vocab,
             const std::string& precision, size_t threads, std::optional<std::filesystem::path> text_model,
             std::optional<std::string> arch, bool exact_decode, std::optional<std::filesystem::path> adapter) {
            ModelOptions o;
            if (vocab) o.vocab = vocab->string();
            if (text_model) o.text_model = text_model->string();
            if (arch) o.arch = *arch;
            if (adapter) o.adapter = adapter->string();
            o.precision = precision;
            o.threads = threads;
            o.exact_decode = exact_decode;
            nb::gil_scoped_release release;
            new (self) clipdex::Model(clipdex::Model::open(path.string(), o));
          },
          "path"_a, "vocab"_a = nb::none(), "precision"_a = "auto", "threads"_a = 0, "text_model"_a = nb::none(),
          "arch"_a = nb::none(), "exact_decode"_a = false, "adapter"_a = nb::none(),
          "Opens a model. precision: auto, fp32, bf16 or int8; threads: compute threads (0 = every core); "
          "text_model: a separate (multilingual) text tower; exact_decode: decode JPEGs at full size (PIL parity); "
          "adapter: a PEFT LoRA adapter folder merged into the weights.")
      .def_prop_ro("dim", &clipdex::Model::dim, "Embedding width.")
      .def_prop_ro("image_size", &clipdex::Model::image_size, "The square input the image tower sees.")
      .def_prop_ro("id", &clipdex::Model::id, "Identifies the weights; a library holds one model's vectors.")
      .def_prop_ro("precision", &clipdex::Model::precision, "What the matrix products run in: fp32, bf16 or int8.")
      .def_prop_ro("kernels", &clipdex::Model::kernels, "Which kernels run them on this CPU.")
      .def_prop_ro("path", &clipdex::Model::path)
      .def_prop_ro("adapter", &clipdex::Model::adapter, "The LoRA adapter merged in (absolute path), '' for none.")
      .def(
          "embed_texts",
          [](const clipdex::Model& model, const std::vector<std::string>& texts, bool normalize) {
            std::vector<float> v;
            {
              nb::gil_scoped_release release;
              v = model.embed_texts(texts, normalize);
            }
            return to_numpy(std::move(v), texts.size(), static_cast<size_t>(model.dim()));
          },
          "texts"_a, "normalize"_a = false,
          "float32 array [len(texts), dim]: the projected text features (unit rows with normalize=True).")
      .def("embed_images", &embed_images, "images"_a, "normalize"_a = false,
           nb::sig("def embed_images(self, images: collections.abc.Sequence[str | os.PathLike | bytes | "
                   "numpy.typing.NDArray[numpy.uint8]], normalize: bool = False) -> numpy.typing.NDArray[numpy.float32]"),
           "float32 array [len(images), dim]. Each image is a path (str or os.PathLike), the bytes of an encoded "
           "file, or a uint8 array [height, width, 3] of RGB pixels (read in place).")
      .def("__repr__", [](const clipdex::Model& model) {
        return "clipdex.Model('" + model.path() + "', dim=" + std::to_string(model.dim()) + ", precision='" +
               model.precision() + "')";
      });
}

}  // namespace clipdex::python
