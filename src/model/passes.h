#pragma once
// How a batch is cut into tower passes. A CPU backend's ops each split their work across the
// pool's threads; on 2 cores every op then ends with one thread waiting for the other, a dozen
// times per transformer block. With enough inputs, each pool thread instead runs whole passes
// over its own share of the batch, its ops running on it alone. ViT-B/32 at batch 32 on 2
// threads (Zen 5, medians of 5-8 alternating runs): bf16 +10%, fp32 +4%, int8 +2% and +9.5%
// in two rounds; at batch 8 +3-10%, for one pass's buffers more per thread. A per-thread plan holds the pool for
// the whole batch, so another caller's ops wait for all of it rather than for one op (the
// server embeds one image per request, which keeps the shared passes). Text batches are cut
// the same way (Backend::thread_text_batch).
#include <cstdint>
#include <functional>
#include <vector>

namespace clipdex::model {

struct Pass {
  int64_t begin = 0, end = 0;  // inputs [begin, end)
};

struct PassPlan {
  // Each share runs on its own pool thread (else the one share runs on the caller, its ops
  // using every thread).
  bool per_thread = false;
  std::vector<std::vector<Pass>> shares;
};

// n inputs on `threads` pool threads. With thread_pass > 0 and at least two inputs per thread,
// each thread takes a contiguous share (sizes within one of each other) in passes of at most
// thread_pass inputs, as even as they can be; otherwise one share of passes of `pass` inputs.
PassPlan plan_passes(int64_t n, int64_t threads, int64_t pass, int64_t thread_pass);

// Runs fn(begin, end) for every pass of the plan (a per-thread plan on the global pool).
void run_passes(const PassPlan& plan, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace clipdex::model
