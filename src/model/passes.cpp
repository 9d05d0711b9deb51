#include "model/passes.h"

#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"

namespace clipdex::model {

PassPlan plan_passes(int64_t n, int64_t threads, int64_t pass, int64_t thread_pass) {
  if (pass < 1) throw Error("plan_passes: a pass holds at least one input");
  PassPlan plan;
  if (thread_pass > 0 && threads > 1 && n >= 2 * threads) {
    plan.per_thread = true;
    for (int64_t t = 0; t < threads; ++t) {
      const int64_t begin = n * t / threads, size = n * (t + 1) / threads - begin;
      const int64_t count = (size + thread_pass - 1) / thread_pass;
      auto& share = plan.shares.emplace_back();
      for (int64_t i = 0; i < count; ++i) share.push_back({begin + size * i / count, begin + size * (i + 1) / count});
    }
    return plan;
  }
  auto& share = plan.shares.emplace_back();
  for (int64_t b = 0; b < n; b += pass) share.push_back({b, std::min(n, b + pass)});
  return plan;
}

void run_passes(const PassPlan& plan, const std::function<void(int64_t, int64_t)>& fn) {
  const auto run_share = [&](const std::vector<Pass>& share) {
    for (const Pass& p : share) fn(p.begin, p.end);
  };
  if (!plan.per_thread) {
    for (const auto& share : plan.shares) run_share(share);
    return;
  }
  // One chunk per share: parallel_for gives each of its chunks to a different thread, and the
  // ops inside run inline there (a nested parallel_for does).
  ThreadPool::global().parallel_for(plan.shares.size(), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) run_share(plan.shares[i]);
  });
}

}  // namespace clipdex::model
