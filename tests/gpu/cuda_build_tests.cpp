// What the CUDA build does on a machine without a GPU (CI's): it parses device names, refuses
// what CUDA cannot run, and says clearly that no GPU is visible instead of crashing. The GPU
// side itself is checked by gpu_check on a GPU machine (scripts/gpu-check.sh).
#include <cuda_runtime.h>

#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "kernels/backend.h"
#include "kernels/gpu_flat_search.h"
#include "model/clip_model.h"

using namespace clipdex;

namespace {

bool have_gpu() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

template <typename Fn>
std::string input_error_of(Fn fn) {
  try {
    fn();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CudaBuild, ParsesDeviceNames) {
  EXPECT_TRUE(kernels::cuda_built());
  EXPECT_FALSE(kernels::parse_device("cpu")->cuda);
  EXPECT_TRUE(kernels::parse_device("cuda")->cuda);
  EXPECT_EQ(kernels::parse_device("cuda:3")->index, 3);
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CUDA", "cuda:123456"})
    EXPECT_FALSE(kernels::parse_device(bad)) << bad;
}

TEST(CudaBuild, RefusesInt8) {
  EXPECT_NE(input_error_of([] { kernels::make_cuda_backend(0, kernels::Precision::Int8); }).find("not int8"),
            std::string::npos);
}

TEST(CudaBuild, NoGpuIsAClearError) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is visible: gpu_check covers this machine";
  EXPECT_NE(input_error_of([] { kernels::make_cuda_backend(0, kernels::Precision::Fp16); }).find("no CUDA GPU is visible"),
            std::string::npos);
  EXPECT_NE(input_error_of([] { kernels::make_gpu_flat_search(0, 512); }).find("no CUDA GPU is visible"),
            std::string::npos);
  model::LoadOptions o;
  o.device = "cuda:1";
  EXPECT_NE(input_error_of([&] { model::Model::load(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/models/vit-tiny", o); })
                .find("no CUDA GPU is visible"),
            std::string::npos);
  o.device = "tpu";
  EXPECT_NE(input_error_of([&] { model::Model::load(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/models/vit-tiny", o); })
                .find("--device must be cpu, cuda or cuda:N"),
            std::string::npos);
}

TEST(CudaBuild, CpuRunsAsBefore) {
  // The CUDA build's CPU path is the default build's: the fixture model still matches its golden shape.
  const auto m = model::Model::load(std::string(CLIPDEX_SHARED_DIR) + "/fixtures/models/vit-tiny");
  EXPECT_EQ(m->info().device, "cpu");
  std::vector<int32_t> ids(77, 0);
  ids[0] = 49406;
  ids[1] = 49407;
  EXPECT_EQ(m->encode_texts(ids.data(), 1, 77).size(), static_cast<size_t>(m->embed_dim()));
}
