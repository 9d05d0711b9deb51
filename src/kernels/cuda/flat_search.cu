// GPU flat search. Scores: S[nq, n] = Q · Xᵀ in fp32 (cuBLASLt, no TF32). Top k per query row:
// a four-pass radix select over the scores' order-preserving 32-bit keys finds the k-th
// largest key (8 bits a pass, histograms from many blocks per row), then one pass collects the
// keys above it and as many equal to it as are needed; the k winners are sorted on the host.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include <fmt/format.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/gemm_plan.h"
#include "kernels/gpu_flat_search.h"

namespace clipdex::kernels {
namespace cuda {
namespace {

__device__ __forceinline__ uint32_t order_key(float f) {
  const uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // larger float -> larger key
}

struct SelectState {
  uint32_t prefix, mask;
  int32_t needed;      // how many of the rows' keys equal to the final prefix belong in the top k
  int32_t above, equal;  // collect counters
};

constexpr int kThreads = 256;

__global__ void histogram_kernel(const float* scores, int64_t n, int shift, const SelectState* states,
                                 uint32_t* histograms) {
  __shared__ uint32_t local[256];
  const int64_t q = blockIdx.y;
  for (int i = threadIdx.x; i < 256; i += blockDim.x) local[i] = 0;
  __syncthreads();
  const SelectState st = states[q];
  const float* row = scores + q * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t key = order_key(row[i]);
    if ((key & st.mask) == st.prefix) atomicAdd(&local[(key >> shift) & 255u], 1u);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < 256; i += blockDim.x)
    if (local[i]) atomicAdd(&histograms[q * 256 + i], local[i]);
}

// One thread per query: walks the histogram from the top bin down to the bin holding the
// needed-th key, narrows the prefix to it, and clears the histogram for the next pass.
__global__ void narrow_kernel(int64_t nq, int shift, SelectState* states, uint32_t* histograms) {
  const int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (q >= nq) return;
  SelectState& st = states[q];
  uint32_t* h = histograms + q * 256;
  int32_t seen = 0;
  for (int b = 255; b >= 0; --b) {
    const int32_t c = static_cast<int32_t>(h[b]);
    if (seen + c >= st.needed) {
      st.prefix |= static_cast<uint32_t>(b) << shift;
      st.mask |= 255u << shift;
      st.needed -= seen;
      break;
    }
    seen += c;
  }
  for (int b = 0; b < 256; ++b) h[b] = 0;
}

__global__ void collect_kernel(const float* scores, int64_t n, int64_t k, SelectState* states, float* top_scores,
                               int64_t* top_ids) {
  const int64_t q = blockIdx.y;
  SelectState* st = states + q;
  const uint32_t threshold = st->prefix;
  const int32_t take_equal = st->needed, above_total = static_cast<int32_t>(k) - take_equal;
  const float* row = scores + q * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint32_t key = order_key(row[i]);
    int32_t slot = -1;
    if (key > threshold) {
      slot = atomicAdd(&st->above, 1);
    } else if (key == threshold) {
      const int32_t e = atomicAdd(&st->equal, 1);
      if (e < take_equal) slot = above_total + e;
    }
    if (slot >= 0) {
      top_scores[q * k + slot] = row[i];
      top_ids[q * k + slot] = i;
    }
  }
}

class CudaFlatSearch final : public GpuFlatSearch {
 public:
  CudaFlatSearch(int index, int64_t dim) : index_(index), dim_(dim) {
    const cudaDeviceProp prop = open_device(index, "GPU search");
    name_ = prop.name;
    sms_ = prop.multiProcessorCount;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cublasLtCreate(&lt_), "cublasLtCreate");
    check(cudaMalloc(&workspace_, kWorkspace), "cudaMalloc");
  }
  ~CudaFlatSearch() override {
    cudaStreamSynchronize(stream_);
    plans_.clear();
    cudaFree(vectors_);
    cudaFree(workspace_);
    cublasLtDestroy(lt_);
    cudaStreamDestroy(stream_);
  }

  int64_t dim() const override { return dim_; }
  int64_t size() const override { return size_; }
  std::string device() const override { return fmt::format("cuda:{} ({})", index_, name_); }

  void add(const float* vectors, int64_t n) override {
    const std::lock_guard lock(mu_);
    check(cudaSetDevice(index_), "cudaSetDevice");
    if (size_ + n > capacity_) {
      const int64_t cap = std::max(size_ + n, capacity_ * 2);
      float* grown = nullptr;
      check(cudaMalloc(&grown, static_cast<size_t>(cap * dim_) * 4), "cudaMalloc (vectors)");
      if (size_) check(cudaMemcpy(grown, vectors_, static_cast<size_t>(size_ * dim_) * 4, cudaMemcpyDeviceToDevice),
                       "copy vectors");
      cudaFree(vectors_);
      vectors_ = grown;
      capacity_ = cap;
    }
    check(cudaMemcpy(vectors_ + size_ * dim_, vectors, static_cast<size_t>(n * dim_) * 4, cudaMemcpyHostToDevice),
          "upload vectors");
    size_ += n;
    plans_.clear();  // a plan is for one (queries, vectors) shape
  }

  void reset() override {
    const std::lock_guard lock(mu_);
    size_ = 0;
    plans_.clear();
  }

  // Searches from several server threads take turns: one stream, one set of plans.
  void search(const float* queries, int64_t nq, int64_t k, float* scores, int64_t* ids) override {
    const std::lock_guard lock(mu_);
    check(cudaSetDevice(index_), "cudaSetDevice");
    std::fill(scores, scores + nq * k, -std::numeric_limits<float>::infinity());
    std::fill(ids, ids + nq * k, int64_t{-1});
    const int64_t kk = std::min(k, size_);
    if (nq == 0 || kk <= 0) return;
    // Queries in chunks whose score matrix stays under 1 GiB.
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(nq, (int64_t{256} << 20) / size_));
    std::vector<float> top_s(static_cast<size_t>(chunk * kk));
    std::vector<int64_t> top_i(static_cast<size_t>(chunk * kk));
    for (int64_t q0 = 0; q0 < nq; q0 += chunk) {
      const int64_t m = std::min(chunk, nq - q0);
      run_chunk(queries + q0 * dim_, m, kk, top_s.data(), top_i.data());
      for (int64_t q = 0; q < m; ++q) {
        std::vector<int64_t> order(static_cast<size_t>(kk));
        std::iota(order.begin(), order.end(), 0);
        const float* s = top_s.data() + q * kk;
        const int64_t* id = top_i.data() + q * kk;
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return s[a] != s[b] ? s[a] > s[b] : id[a] < id[b];
        });
        for (int64_t j = 0; j < kk; ++j) {
          scores[(q0 + q) * k + j] = s[order[j]];
          ids[(q0 + q) * k + j] = id[order[j]];
        }
      }
    }
  }

 private:
  static constexpr size_t kWorkspace = 32u << 20;

  void run_chunk(const float* queries, int64_t m, int64_t k, float* top_s, int64_t* top_i) {
    DeviceArray<float> q(m * dim_), s(m * size_), out_s(m * k);
    DeviceArray<int64_t> out_i(m * k);
    DeviceArray<SelectState> states(m);
    DeviceArray<uint32_t> hist(m * 256);
    check(cudaMemcpyAsync(q.p, queries, static_cast<size_t>(m * dim_) * 4, cudaMemcpyHostToDevice, stream_), "queries");
    auto& plan = plans_[m];
    if (!plan)
      plan = std::make_unique<GemmPlan>(lt_, m, size_, dim_, CUDA_R_32F, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT,
                                        kWorkspace, nullptr);
    plan->run(vectors_, q.p, s.p, nullptr, 0.0f, workspace_, stream_);
    std::vector<SelectState> init(static_cast<size_t>(m), SelectState{0, 0, static_cast<int32_t>(k), 0, 0});
    check(cudaMemcpyAsync(states.p, init.data(), init.size() * sizeof(SelectState), cudaMemcpyHostToDevice, stream_),
          "states");
    check(cudaMemsetAsync(hist.p, 0, static_cast<size_t>(m * 256) * 4, stream_), "histograms");
    // Enough blocks per row to fill the GPU once over all rows.
    const unsigned per_row = static_cast<unsigned>(
        std::clamp<int64_t>(sms_ * 4 / m, 1, std::max<int64_t>(1, (size_ + kThreads * 16 - 1) / (kThreads * 16))));
    const dim3 grid(per_row, static_cast<unsigned>(m));
    for (int shift = 24; shift >= 0; shift -= 8) {
      histogram_kernel<<<grid, kThreads, 0, stream_>>>(s.p, size_, shift, states.p, hist.p);
      check_launch("histogram");
      narrow_kernel<<<static_cast<unsigned>((m + 127) / 128), 128, 0, stream_>>>(m, shift, states.p, hist.p);
      check_launch("narrow");
    }
    collect_kernel<<<grid, kThreads, 0, stream_>>>(s.p, size_, k, states.p, out_s.p, out_i.p);
    check_launch("collect");
    check(cudaMemcpyAsync(top_s, out_s.p, static_cast<size_t>(m * k) * 4, cudaMemcpyDeviceToHost, stream_), "scores");
    check(cudaMemcpyAsync(top_i, out_i.p, static_cast<size_t>(m * k) * 8, cudaMemcpyDeviceToHost, stream_), "ids");
    check(cudaStreamSynchronize(stream_), "search");
  }

  template <typename T>
  struct DeviceArray {
    T* p = nullptr;
    explicit DeviceArray(int64_t n) { check(cudaMalloc(&p, static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T)), "cudaMalloc"); }
    ~DeviceArray() { cudaFree(p); }
    DeviceArray(const DeviceArray&) = delete;
    DeviceArray& operator=(const DeviceArray&) = delete;
  };

  int index_;
  int64_t dim_;
  std::string name_;
  int sms_ = 1;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* workspace_ = nullptr;
  float* vectors_ = nullptr;
  int64_t size_ = 0, capacity_ = 0;
  std::map<int64_t, std::unique_ptr<GemmPlan>> plans_;
  std::mutex mu_;
};

}  // namespace
}  // namespace cuda

std::unique_ptr<GpuFlatSearch> make_gpu_flat_search(int device, int64_t dim) {
  return std::make_unique<cuda::CudaFlatSearch>(device, dim);
}

}  // namespace clipdex::kernels
