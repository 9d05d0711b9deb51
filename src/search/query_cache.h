#pragma once
// A thread-safe LRU cache of query embeddings (text -> unit vector), shared by every request.
#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace clipdex::search {

class QueryCache {
 public:
  explicit QueryCache(size_t capacity) : capacity_(capacity) {}

  std::optional<std::vector<float>> get(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      ++misses_;
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);
    ++hits_;
    return it->second->second;
  }

  void put(const std::string& key, std::vector<float> value) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mu_);
    if (auto it = map_.find(key); it != map_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    map_[key] = order_.begin();
    if (map_.size() > capacity_) {
      map_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t size() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }

 private:
  using Entry = std::pair<std::string, std::vector<float>>;
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> order_;
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace clipdex::search
