// The running configuration as one immutable snapshot, swapped atomically.
//
// Workers read it on every query; a reload or a runtime toggle builds a new
// snapshot completely, then publishes it. A query in flight keeps the
// snapshot it started with alive through its shared_ptr.
#pragma once

#include "config/config.hpp"
#include "zone/local_data.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace vpcedns::server {

struct snapshot {
  std::shared_ptr<const config::settings> settings;
  std::shared_ptr<const zone::local_data> data;
};

// Thread-safe holder of the current snapshot. Readers check generation() (one
// atomic load) and take the pointer under the mutex only when it changed.
class state {
 public:
  explicit state(std::shared_ptr<const snapshot> first) : current_(std::move(first)) {}

  void publish(std::shared_ptr<const snapshot> next) {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const snapshot> current() const {
    std::lock_guard lock(mu_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace vpcedns::server
