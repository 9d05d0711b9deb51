#include "server/connection_queue.h"

#include <chrono>

namespace clipdex::server {
namespace {

void work(std::shared_ptr<ConnectionState> s) {
  std::unique_lock lock(s->mu);
  for (;;) {
    ++s->idle;
    s->wake.wait(lock, [&] { return s->stopping || !s->queue.empty(); });
    --s->idle;
    if (s->queue.empty()) break;  // stopping, nothing left
    auto fn = std::move(s->queue.front());
    s->queue.pop_front();
    ++s->running;
    lock.unlock();
    fn();
    lock.lock();
    --s->running;
    s->done.notify_all();
  }
}

}  // namespace

ConnectionQueue::~ConnectionQueue() { shutdown(); }

void ConnectionQueue::enqueue(std::function<void()> fn) {
  std::lock_guard lock(s_->mu);
  s_->queue.push_back(std::move(fn));
  // An idle thread that was woken but has not taken its task yet still counts as idle: start a
  // thread whenever queued connections outnumber idle threads, or one could wait behind a slow one.
  if (s_->queue.size() > s_->idle && s_->threads.size() < s_->max_threads) s_->threads.emplace_back(work, s_);
  s_->wake.notify_one();
}

void ConnectionQueue::shutdown() {
  std::unique_lock lock(s_->mu);
  if (s_->stopping && s_->threads.empty()) return;
  s_->stopping = true;
  s_->wake.notify_all();
  // Queued connections still run (httplib ends them quickly once stopped); one that keeps
  // trickling bytes is not waited for past the grace period.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(s_->grace_seconds);
  s_->done.wait_until(lock, deadline, [&] { return s_->running == 0 && s_->queue.empty(); });
  s_->abandoned = s_->running + s_->queue.size();
  auto threads = std::move(s_->threads);
  s_->threads.clear();
  const bool stuck = s_->abandoned > 0;
  lock.unlock();
  for (auto& t : threads) {
    if (stuck) t.detach();
    else t.join();
  }
}

}  // namespace clipdex::server
