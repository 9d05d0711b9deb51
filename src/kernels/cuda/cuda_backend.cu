// The CUDA backend: weights uploaded once at load, inputs converted to the work type on the way
// up (pinned double buffering), activations in device memory from the stream-ordered pool, GEMMs through cuBLASLt (fp16 / bf16 inputs with fp32 accumulation, or
// plain fp32 without TF32), bias and residual add in the GEMM's epilogue, and the other ops in
// kernels/cuda/cuda_ops.cu. Everything runs on one stream; callers serialise (concurrent() is
// false), so the pinned staging buffers and the cached GEMM plans need no locks.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/gemm_plan.h"
#include "kernels/cuda/host_staging.h"

namespace clipdex::kernels {
namespace cuda {
namespace {

cudaDataType_t cuda_type(ElementType t) {
  return t == ElementType::F32 ? CUDA_R_32F : t == ElementType::F16 ? CUDA_R_16F : CUDA_R_16BF;
}

// Device memory from the stream-ordered pool, returned to it when the last owner goes.
std::shared_ptr<void> device_alloc(size_t bytes, cudaStream_t stream) {
  void* p = nullptr;
  check(cudaMallocAsync(&p, std::max<size_t>(bytes, 1), stream), "cudaMallocAsync");
  return std::shared_ptr<void>(p, [stream](void* q) { cudaFreeAsync(q, stream); });
}

// A linear layer's weights on the device: W [out, in] in the work type, the bias in fp32 and
// in the work type (the GEMM epilogue takes the bias in the output's type).
struct DeviceLinear {
  std::shared_ptr<void> weight, bias_f32, bias_work;
};

using PlanKey = std::tuple<int64_t, int64_t, int64_t, int, int>;  // m, n, k, output type, epilogue

// With CLIPDEX_CUDA_PROFILE set: GPU time per op (CUDA events around each), summed at every
// download (a sync point) and printed to stderr when the backend goes. For finding where a
// batch's time goes without a profiler; off, it costs one branch per op.
class OpProfile {
 public:
  OpProfile() : on_(std::getenv("CLIPDEX_CUDA_PROFILE") != nullptr) {}
  ~OpProfile() {
    if (!on_) return;
    std::vector<std::pair<double, std::string>> rows;
    double all = 0;
    for (const auto& [name, t] : total_) {
      rows.emplace_back(t.first, name);
      all += t.first;
    }
    std::sort(rows.rbegin(), rows.rend());
    std::fprintf(stderr, "clipdex CUDA profile (GPU ms, all calls):\n");
    for (const auto& [ms, name] : rows)
      std::fprintf(stderr, "  %9.2f ms %5.1f%%  %6d x  %s\n", ms, 100 * ms / all, total_[name].second, name.c_str());
  }
  bool on() const { return on_; }
  void begin(cudaStream_t s) {
    if (!on_) return;
    cudaEventCreate(&start_);
    cudaEventRecord(start_, s);
  }
  void end(cudaStream_t s, std::string name) {
    if (!on_) return;
    cudaEvent_t stop;
    cudaEventCreate(&stop);
    cudaEventRecord(stop, s);
    pending_.push_back({std::move(name), start_, stop});
  }
  void collect() {  // after a stream sync
    for (auto& p : pending_) {
      float ms = 0;
      cudaEventElapsedTime(&ms, p.start, p.stop);
      auto& t = total_[p.name];
      t.first += ms;
      t.second += 1;
      cudaEventDestroy(p.start);
      cudaEventDestroy(p.stop);
    }
    pending_.clear();
  }

 private:
  struct Pending {
    std::string name;
    cudaEvent_t start, stop;
  };
  bool on_;
  cudaEvent_t start_ = nullptr;
  std::vector<Pending> pending_;
  std::map<std::string, std::pair<double, int>> total_;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(int index, Precision precision) : index_(index), precision_(precision) {
    gpu_name_ = open_device(index, "--device cuda").name;
    work_ = precision == Precision::Fp32 ? ElementType::F32
            : precision == Precision::Bf16 ? ElementType::BF16 : ElementType::F16;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    cudaMemPool_t pool;
    check(cudaDeviceGetDefaultMemPool(&pool, index), "cudaDeviceGetDefaultMemPool");
    uint64_t keep = UINT64_MAX;  // keep freed blocks for the next batch instead of returning them to the driver
    check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute");
    check(cublasLtCreate(&lt_), "cublasLtCreate");
    workspace_ = device_alloc(kWorkspace, stream_);
  }

  ~CudaBackend() override {
    cudaStreamSynchronize(stream_);
    plans_.clear();
    workspace_.reset();
    cudaStreamSynchronize(stream_);
    cublasLtDestroy(lt_);
    if (pinned_) cudaFreeHost(pinned_);
    for (int i = 0; i < 2; ++i) {
      if (slots_[i]) cudaFreeHost(slots_[i]);
      if (slot_free_[i]) cudaEventDestroy(slot_free_[i]);
    }
    cudaStreamDestroy(stream_);
  }

  std::string name() const override { return "cuda-" + to_string(precision_); }
  Precision precision() const override { return precision_; }
  std::string kernels() const override {
    return fmt::format("{}: cuBLASLt GEMMs ({}, fp32 accumulation), clipdex CUDA kernels (fused attention, layer norm)",
                       to_string(precision_), precision_ == Precision::Fp32 ? "fp32, no TF32" : to_string(precision_) + " inputs");
  }
  std::string device() const override { return fmt::format("cuda:{} ({})", index_, gpu_name_); }
  int64_t max_batch() const override { return 1024; }
  bool concurrent() const override { return false; }

  void prepare(LinearWeights& w) override {
    auto d = std::make_shared<DeviceLinear>();
    d->weight = to_device(w.weight.ptr(), w.weight.numel(), work_);
    if (!w.bias.empty()) {
      d->bias_f32 = to_device(w.bias.ptr(), w.bias.numel(), ElementType::F32);
      d->bias_work = to_device(w.bias.ptr(), w.bias.numel(), work_);
    }
    check(cudaStreamSynchronize(stream_), "upload weights");
    w.packed = d;
    std::vector<float>().swap(w.weight.data);  // the device copy replaces it; the shape stays
  }

  Buffer alloc(int64_t count, Role role) override {
    check(cudaSetDevice(index_), "cudaSetDevice");  // the calling thread may not have used this GPU yet
    const ElementType t = role == Role::Stream ? ElementType::F32 : work_;
    Buffer b;
    b.memory = device_alloc(static_cast<size_t>(count) * type_bytes(t), stream_);
    b.view = {b.memory.get(), t};
    b.count = count;
    return b;
  }

  Buffer adopt(Tensor&& t) override {
    Buffer b = upload(t.ptr(), t.numel(), Role::Stream);
    check(cudaStreamSynchronize(stream_), "upload constants");
    std::vector<float>().swap(t.data);
    return b;
  }

  Buffer upload(const float* host, int64_t count, Role role) override {
    Buffer b = alloc(count, role);
    stage(host, count, b.view);
    return b;
  }

  void download(View src, int64_t count, float* host) override {
    if (src.type != ElementType::F32) throw Error("download: only fp32 buffers leave the GPU");
    const size_t bytes = static_cast<size_t>(count) * 4;
    void* staging = pinned(bytes);
    check(cudaMemcpyAsync(staging, src.data, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "download");
    profile_.collect();
    std::memcpy(host, staging, bytes);
  }

  void linear(View x, int64_t m, const LinearWeights& w, View y, Activation act, bool accumulate) override {
    if (m == 0) return;
    if (!w.packed) throw Error("linear: a layer not prepared by the CUDA backend");
    if (x.type != work_) throw Error("linear: the input is not in the backend's work type");
    if (accumulate && act != Activation::None) throw Error("linear: an accumulating layer takes no activation");
    const auto& d = *static_cast<const DeviceLinear*>(w.packed.get());
    const int64_t n = w.out(), k = w.in();
    const bool relu = act == Activation::Relu;
    const bool bias = d.bias_f32 != nullptr;
    const cublasLtEpilogue_t epilogue = bias ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                             : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
    const void* b = !bias ? nullptr : y.type == ElementType::F32 ? d.bias_f32.get() : d.bias_work.get();
    profile_.begin(stream_);
    plan_for(m, n, k, y.type, epilogue).run(d.weight.get(), x.data, y.data, b, accumulate ? 1.0f : 0.0f,
                                            workspace_.get(), stream_);
    if (profile_.on()) profile_.end(stream_, fmt::format("gemm {}x{} -> {}{}", k, n, y.type == ElementType::F32 ? "fp32" : "work", accumulate ? " +=" : ""));
    if (!relu && act != Activation::None) {
      profile_.begin(stream_);
      cuda::activation(y.data, y.type, m * n, act, stream_);
      profile_.end(stream_, "activation");
    }
  }

  void layer_norm(View x, int64_t rows, int64_t dim, View gamma, View beta, float eps, View y) override {
    profile_.begin(stream_);
    cuda::layer_norm(x.data, x.type, rows, dim, static_cast<const float*>(gamma.data),
                     static_cast<const float*>(beta.data), eps, y.data, y.type, stream_);
    profile_.end(stream_, "layer_norm");
  }

  void attention(View qkv, const SequenceLayout& seqs, int64_t width, int64_t heads, bool causal, View out) override {
    std::vector<int32_t> offsets(seqs.offsets.begin(), seqs.offsets.end());
    int64_t longest = 0;
    for (int64_t s = 0; s < seqs.count(); ++s) longest = std::max(longest, seqs.length(s));
    const auto dev = small_upload(offsets.data(), offsets.size() * sizeof(int32_t));
    profile_.begin(stream_);
    cuda::attention(qkv.data, qkv.type, static_cast<const int32_t*>(dev.get()), seqs.count(), longest, width, heads,
                    causal, out.data, stream_);
    profile_.end(stream_, "attention");
  }

  void patch_rows(View pixels, const PatchGeometry& g, View cols) override {
    profile_.begin(stream_);
    cuda::patch_rows(pixels.data, pixels.type, g, cols.data, cols.type, stream_);
    profile_.end(stream_, "patch_rows");
  }

  void vit_tokens(View patches, View cls, View pos, int64_t images, int64_t tokens, int64_t width, View x) override {
    cuda::vit_tokens(patches.data, patches.type, static_cast<const float*>(cls.data),
                     static_cast<const float*>(pos.data), images, tokens, width, static_cast<float*>(x.data), stream_);
  }

  void embed(View table, View pos, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
             int64_t width, View x) override {
    const auto dev_ids = small_upload(ids.data(), ids.size() * sizeof(int32_t));
    const auto dev_pos = small_upload(positions.data(), positions.size() * sizeof(int32_t));
    cuda::embed(static_cast<const float*>(table.data), static_cast<const float*>(pos.data),
                static_cast<const int32_t*>(dev_ids.get()), static_cast<const int32_t*>(dev_pos.get()),
                static_cast<int64_t>(ids.size()), width, static_cast<float*>(x.data), stream_);
  }

  void gather_rows(View x, const std::vector<int64_t>& rows, int64_t width, View out) override {
    const auto dev = small_upload(rows.data(), rows.size() * sizeof(int64_t));
    if (x.type != out.type) throw Error("gather_rows: the rows keep their element type");
    cuda::gather_rows(x.data, x.type, static_cast<const int64_t*>(dev.get()), static_cast<int64_t>(rows.size()), width,
                      out.data, stream_);
  }

 private:
  static constexpr size_t kWorkspace = 32u << 20;

  // Host memory downloads land in; grown as needed, reused (the stream is synchronised before a
  // download returns, so no copy is in flight when it is rewritten).
  void* pinned(size_t bytes) {
    if (bytes > pinned_bytes_) {
      check(cudaStreamSynchronize(stream_), "staging");
      if (pinned_) cudaFreeHost(pinned_);
      pinned_ = nullptr;
      check(cudaMallocHost(&pinned_, bytes), "cudaMallocHost");
      pinned_bytes_ = bytes;
    }
    return pinned_;
  }

  // Host fp32 -> device memory of dst's type, through two pinned slots: the thread pool converts
  // one slot while the copy engine moves the other.
  void stage(const float* host, int64_t count, View dst) {
    constexpr int64_t kSlot = int64_t{1} << 22;  // elements
    if (!slots_[0]) {
      for (int i = 0; i < 2; ++i) {
        check(cudaMallocHost(&slots_[i], kSlot * 4), "cudaMallocHost");
        check(cudaEventCreateWithFlags(&slot_free_[i], cudaEventDisableTiming), "cudaEventCreate");
      }
    }
    for (int64_t i = 0, k = 0; i < count; i += kSlot, k ^= 1) {
      const int64_t n = std::min(kSlot, count - i);
      check(cudaEventSynchronize(slot_free_[k]), "staging");
      convert_for_upload(host + i, n, dst.type, slots_[k]);
      check(cudaMemcpyAsync(dst.at(i).data, slots_[k], static_cast<size_t>(n) * type_bytes(dst.type),
                            cudaMemcpyHostToDevice, stream_),
            "upload");
      check(cudaEventRecord(slot_free_[k], stream_), "staging");
    }
  }

  // Index arrays (offsets, ids, rows): a few kilobytes, copied straight from pageable memory.
  std::shared_ptr<void> small_upload(const void* host, size_t bytes) {
    auto dev = device_alloc(bytes, stream_);
    check(cudaMemcpyAsync(dev.get(), host, bytes, cudaMemcpyHostToDevice, stream_), "upload indices");
    return dev;
  }

  std::shared_ptr<void> to_device(const float* host, int64_t count, ElementType t) {
    auto out = device_alloc(static_cast<size_t>(count) * type_bytes(t), stream_);
    stage(host, count, View{out.get(), t});
    return out;
  }

  const GemmPlan& plan_for(int64_t m, int64_t n, int64_t k, ElementType out, cublasLtEpilogue_t epilogue) {
    const PlanKey key{m, n, k, static_cast<int>(out), static_cast<int>(epilogue)};
    auto& plan = plans_[key];
    if (!plan)
      plan = std::make_unique<GemmPlan>(lt_, m, n, k, cuda_type(work_), cuda_type(out), epilogue, kWorkspace,
                                        workspace_.get());
    return *plan;
  }

  int index_;
  Precision precision_;
  ElementType work_ = ElementType::F16;
  std::string gpu_name_;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::shared_ptr<void> workspace_;
  void* pinned_ = nullptr;
  size_t pinned_bytes_ = 0;
  void* slots_[2] = {nullptr, nullptr};  // upload staging
  cudaEvent_t slot_free_[2] = {nullptr, nullptr};
  std::map<PlanKey, std::unique_ptr<GemmPlan>> plans_;
  OpProfile profile_;
};

}  // namespace
}  // namespace cuda

bool cuda_built() { return true; }

std::unique_ptr<Backend> make_cuda_backend(int index, Precision precision) {
  if (precision == Precision::Int8) throw InputError("--device cuda runs fp16, bf16 or fp32, not int8");
  if (precision == Precision::Auto) precision = Precision::Fp16;
  return std::make_unique<cuda::CudaBackend>(index, precision);
}

}  // namespace clipdex::kernels
