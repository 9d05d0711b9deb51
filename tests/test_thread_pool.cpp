// The thread pool under the patterns the towers give it: many small jobs back to back (workers
// catch them while spinning), jobs below the grain (run inline), errors from a worker, several
// calling threads at once, and pools torn down while their workers spin or sleep.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/thread_pool.h"

using clipdex::ThreadPool;

namespace {

// Runs parallel_for over [0, n) and checks every index was visited exactly once.
void expect_each_index_once(ThreadPool& pool, size_t n, size_t grain) {
  std::vector<std::atomic<int>> hits(n);
  pool.parallel_for(
      n,
      [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
      },
      grain);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " grain=" << grain << " i=" << i;
}

}  // namespace

TEST(ThreadPool, BackToBackJobsVisitEveryIndexOnce) {
  ThreadPool pool(3);
  for (int round = 0; round < 2000; ++round) expect_each_index_once(pool, 1 + round % 97, 1 + round % 5);
  // With pauses longer than the workers' spin, so they go to sleep and must be woken.
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    expect_each_index_once(pool, 64, 1);
  }
}

TEST(ThreadPool, WorkBelowTwoGrainsRunsOnTheCallingThread) {
  ThreadPool pool(4);
  std::set<std::thread::id> ran_on;
  std::mutex mu;
  const auto record = [&](size_t, size_t) {
    std::lock_guard lock(mu);
    ran_on.insert(std::this_thread::get_id());
  };
  pool.parallel_for(100, record, 64);
  EXPECT_EQ(ran_on, std::set<std::thread::id>{std::this_thread::get_id()});
  // Enough work for every thread: the chunks spread (the caller runs one of them).
  ran_on.clear();
  pool.parallel_for(4, [&](size_t b, size_t e) {
    record(b, e);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // hold each chunk so none can run two
  });
  EXPECT_EQ(ran_on.size(), 4u);
}

TEST(ThreadPool, AWorkersErrorReachesTheCallerAndThePoolGoesOn) {
  ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    EXPECT_THROW(pool.parallel_for(2,
                                   [&](size_t b, size_t) {
                                     if (b == 1) throw std::runtime_error("chunk 1 failed");
                                   }),
                 std::runtime_error);
    expect_each_index_once(pool, 10, 1);
  }
}

TEST(ThreadPool, SeveralCallersTakeTurns) {
  ThreadPool pool(2);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 300; ++round)
        pool.parallel_for(50, [&](size_t b, size_t e) { total.fetch_add(static_cast<long>(e - b)); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4L * 300 * 50);
}

TEST(ThreadPool, TearsDownWhileWorkersSpinOrSleep) {
  for (int round = 0; round < 50; ++round) {
    ThreadPool pool(3);
    expect_each_index_once(pool, 30, 1);
    if (round % 2) std::this_thread::sleep_for(std::chrono::microseconds(500));
  }  // each pool's destructor must stop its workers, spinning or asleep
}
