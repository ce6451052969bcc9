// Identical questions in flight share one upstream query.
//
// The first client asking a question has its query sent upstream; clients
// asking the same question before the answer arrives only wait. When the
// answer (or the failure) comes back, every waiter is answered from it.
// One table per worker thread: no locks.
#pragma once

#include "cache/cache.hpp"

#include <unordered_map>
#include <vector>

namespace vpcedns::cache {

// The cache key plus the one query property that changes how a raw upstream
// answer may be relayed: whether the client sent EDNS (an answer that could
// not be cached is relayed as is, OPT included, to every waiter).
class inflight_key {
 public:
  inflight_key(const key& k, bool edns) : k_(k), edns_(edns) {}
  const key& cache_key() const { return k_; }
  bool operator==(const inflight_key& o) const { return edns_ == o.edns_ && k_ == o.k_; }
  std::size_t hash() const { return k_.hash() ^ (edns_ ? 0x9e3779b97f4a7c15ull : 0); }

 private:
  key k_;
  bool edns_;
};

template <typename Waiter>
class inflight {
 public:
  // Adds `w` to the waiters of `k`. True when it is the first one: the
  // caller then sends the query upstream and later calls take().
  bool join(const inflight_key& k, Waiter&& w) {
    auto [it, first] = table_.try_emplace(k);
    it->second.push_back(std::move(w));
    return first;
  }
  // The waiters of `k` (the first one first), removed from the table.
  std::vector<Waiter> take(const inflight_key& k) {
    std::vector<Waiter> out;
    auto it = table_.find(k);
    if (it == table_.end()) return out;
    out = std::move(it->second);
    table_.erase(it);
    return out;
  }
  // The first waiter of `k` (whose query goes upstream); `k` must be joined.
  const Waiter& first(const inflight_key& k) const { return table_.at(k).front(); }
  std::size_t size() const { return table_.size(); }

 private:
  struct hasher {
    std::size_t operator()(const inflight_key& k) const { return k.hash(); }
  };
  std::unordered_map<inflight_key, std::vector<Waiter>, hasher> table_;
};

}  // namespace vpcedns::cache
