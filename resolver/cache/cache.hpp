// The cache of forwarded answers. Pure code: no sockets, no clocks (every
// call takes `now` in milliseconds of a monotonic clock), no locks.
//
// One cache belongs to one worker thread. An entry is the upstream's answer in
// wire form, normalised once on insert (OPT removed, TTLs capped), plus the
// offsets of its TTL fields, so a hit is: copy, patch ID, question case and
// TTLs, append our OPT. Lookups and hits never allocate.
#pragma once

#include "config/config.hpp"
#include "view/selector.hpp"
#include "wire/message.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

namespace vpcedns::cache {

// [cache] of the config; max_entries here is this one cache's bound.
using settings = config::cache_settings;

// How long an expired answer may still be served stale (RFC 8767 section 5
// suggests 1 to 3 days).
inline constexpr uint32_t max_stale_seconds = 86400;
// Larger answers are relayed but not kept, so one name cannot take megabytes.
inline constexpr std::size_t max_cached_message = 16384;

// The cache key: view, lowercased qname, qtype, qclass and the query bits that
// change the upstream's answer (DO, CD, RD). Built without allocating.
// TODO: the client's EDNS options (ECS, cookies) are not in the key nor echoed
// on a hit; a client relying on ECS gets the first asker's answer; keying on
// ECS and echoing options closes it (issue #5 follow-up).
class key {
 public:
  key() = default;
  key(view::view_id v, const wire::query& q);

  std::span<const uint8_t> bytes() const { return {buf_.data(), len_}; }
  uint64_t hash() const { return hash_; }
  bool operator==(const key& o) const;

 private:
  std::array<uint8_t, 8 + wire::max_name_wire> buf_{};
  uint16_t len_ = 0;
  uint64_t hash_ = 0;
};

// What lookup() found.
enum class outcome : uint8_t {
  miss,    // nothing usable: forward
  fresh,   // a live answer: render() it
  failed,  // the upstream failed for this key moments ago: answer SERVFAIL
  stale,   // the upstream failed moments ago, serve_stale is on: render() it stale
};

struct stats {
  uint64_t entries = 0;
  uint64_t hits = 0;         // fresh answers served
  uint64_t stale_hits = 0;   // expired answers served (serve_stale)
  uint64_t failed_hits = 0;  // SERVFAILs served from a remembered failure
  uint64_t misses = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t uncacheable = 0;  // upstream answers not kept (TC, no SOA, too large...)
};

// TODO: one cache per worker thread splits the hit rate and max_entries over
// the workers; a shared cache sharded by hash closes it once a multi-worker
// benchmark shows it pays (issue #5 follow-up).
class answer_cache {
 public:
  explicit answer_cache(const settings& s);
  answer_cache(const answer_cache&) = delete;
  answer_cache& operator=(const answer_cache&) = delete;

  bool enabled() const { return cfg_.max_entries > 0; }
  const settings& config() const { return cfg_; }

  // Looks `k` up; on fresh or stale, *entry_out identifies the entry for
  // render() (valid until the next insert/fail/flush). Counts hits and misses.
  outcome lookup(const key& k, int64_t now_ms, uint32_t* entry_out);

  // Writes entry `e` as the answer to the client's query `q`: TTLs counted
  // down (or stale_ttl when `stale`), then the rules of a fresh answer
  // (wire::relay_upstream_answer): the client's ID and letter case, our OPT
  // with the client's DO when it sent EDNS, cut by whole RRsets to `limit`.
  // `out` must hold 65535 bytes. Returns the size (0: unusable, not expected).
  std::size_t render(uint32_t e, const wire::query& q, std::span<const uint8_t> client_pkt,
                     std::span<uint8_t> out, std::size_t limit, uint16_t our_udp_size,
                     int64_t now_ms, bool stale) const;

  // Keeps the upstream's answer to `k`. NOERROR with records, and negative
  // answers (NXDOMAIN, NODATA) carrying an SOA, are kept; an upstream
  // SERVFAIL is remembered as a failure (see fail()). Returns the entry for
  // render(), or nullopt-like `no_entry` when nothing servable was kept.
  uint32_t insert(const key& k, std::span<const uint8_t> answer, int64_t now_ms);

  // TODO: the failure's reason is not kept; effect: a SERVFAIL from failure
  // memory has no Extended DNS Error; a reason code per entry closes it (#5).
  // Remembers that every upstream failed for `k` (timeout, unreachable,
  // SERVFAIL): for servfail_ttl seconds lookup() answers `failed`, or `stale`
  // when serve_stale is on and an expired answer is still held. Returns that
  // stale entry, or no_entry.
  uint32_t fail(const key& k, int64_t now_ms);

  // Drops every entry. Counters keep counting.
  void flush();

  stats counters() const;

  static constexpr uint32_t no_entry = UINT32_MAX;

 private:
  struct entry {
    std::unique_ptr<uint8_t[]> data;  // key bytes, message, TTL offsets (uint16 each)
    uint16_t key_len = 0;
    uint16_t msg_len = 0;  // 0: a failure without an answer
    uint16_t ttl_count = 0;
    uint64_t hash = 0;
    int64_t stored_ms = 0;                      // when the answer arrived
    int64_t expires_ms = 0;                     // end of its TTL
    int64_t failed_until_ms = 0;                // end of a remembered upstream failure
    uint32_t prev = no_entry, next = no_entry;  // LRU list, most recent first

    std::span<const uint8_t> key_bytes() const { return {data.get(), key_len}; }
    const uint8_t* msg() const { return data.get() + key_len; }
    uint16_t ttl_offset(std::size_t i) const;
  };

  uint32_t find(const key& k) const;
  uint32_t slot_for(const key& k, int64_t now_ms);
  void unlink(uint32_t e);
  void push_front(uint32_t e);
  void touch(uint32_t e);
  bool stale_usable(const entry& en, int64_t now_ms) const;

  settings cfg_;
  std::vector<entry> entries_;
  std::unordered_multimap<uint64_t, uint32_t> index_;  // key hash -> entry
  uint32_t head_ = no_entry, tail_ = no_entry;
  stats stats_;
};

}  // namespace vpcedns::cache
