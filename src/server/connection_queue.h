#pragma once
// The HTTP server's connection workers: a thread per open connection, started on demand up to
// a cap and reused after, so a few slow clients (a header line every few seconds) hold only
// their own threads and never starve /healthz or a search; past the cap, connections wait
// their turn. Shutdown waits a grace period for open connections, then leaves the ones that
// would not finish to detached threads and reports them (the caller then exits without them).
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace clipdex::server {

// Shared by the queue, its threads (which may outlive it when detached) and the server.
struct ConnectionState {
  ConnectionState(size_t max_threads, double grace_seconds) : max_threads(max_threads), grace_seconds(grace_seconds) {}
  const size_t max_threads;
  const double grace_seconds;
  std::mutex mu;
  std::condition_variable wake, done;
  std::deque<std::function<void()>> queue;
  std::vector<std::thread> threads;
  size_t idle = 0, running = 0, abandoned = 0;
  bool stopping = false;
};

class ConnectionQueue : public httplib::TaskQueue {
 public:
  explicit ConnectionQueue(std::shared_ptr<ConnectionState> state) : s_(std::move(state)) {}
  ~ConnectionQueue() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  std::shared_ptr<ConnectionState> s_;
};

}  // namespace clipdex::server
