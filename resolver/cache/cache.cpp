#include "cache/cache.hpp"

#include <algorithm>
#include <cstring>

namespace vpcedns::cache {

namespace {

constexpr uint16_t type_tsig = 250;
// RFC 2181 8: a TTL with the top bit set is treated as zero.
uint32_t sane_ttl(uint32_t t) {
  return t > 0x7fffffffu ? 0 : t;
}

uint64_t fnv1a(std::span<const uint8_t> b) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// The upstream's answer, checked and reduced to what the cache keeps.
struct normalised {
  enum class kind { uncacheable, positive, negative, servfail } what = kind::uncacheable;
  std::vector<uint8_t> msg;    // without OPT, TTLs capped
  std::vector<uint16_t> ttls;  // offsets of the TTL fields in msg
  uint32_t ttl = 0;            // how long the answer lives, before min/max
};

struct rr_walk {
  std::size_t opt_start = 0, opt_end = 0;
  uint32_t min_ttl = UINT32_MAX;
  uint32_t negative_ttl = UINT32_MAX;  // min(SOA TTL, SOA MINIMUM) of an authority SOA
  std::vector<uint16_t> ttls;          // offsets in the original message
};

// Walks every RR after the question. False when the message is malformed or
// carries something the cache must not replay (TSIG, an extended rcode).
bool walk_rrs(std::span<const uint8_t> m, std::size_t pos, rr_walk& w) {
  const uint8_t* h = m.data();
  unsigned an = wire::get16(h + 6), ns = wire::get16(h + 8), ar = wire::get16(h + 10);
  for (unsigned i = 0; i < an + ns + ar; ++i) {
    std::size_t after = wire::skip_name(m, pos);
    if (after == 0 || after + 10 > m.size()) return false;
    const uint8_t* rr = h + after;
    uint16_t rtype = wire::get16(rr);
    std::size_t end = after + 10 + wire::get16(rr + 8);
    if (end > m.size() || rtype == type_tsig) return false;
    if (rtype == wire::type::opt) {
      if (i < an + ns || w.opt_end != 0 || rr[4] != 0) return false;
      w.opt_start = pos;
      w.opt_end = end;
    } else {
      uint32_t ttl = sane_ttl(wire::get32(rr + 4));
      w.ttls.push_back(static_cast<uint16_t>(after + 4));
      w.min_ttl = std::min(w.min_ttl, ttl);
      bool authority = i >= an && i < an + ns;
      if (authority && rtype == wire::type::soa && end - after - 10 >= 22)
        w.negative_ttl = std::min({w.negative_ttl, ttl, sane_ttl(wire::get32(h + end - 4))});
    }
    pos = end;
  }
  return pos == m.size();
}

normalised normalise(std::span<const uint8_t> m, uint32_t max_ttl) {
  normalised n;
  if (m.size() < wire::header_size || m.size() > max_cached_message) return n;
  const uint8_t* h = m.data();
  uint16_t flags = wire::get16(h + 2);
  bool bad_header = !(flags & wire::flag::qr) || (flags & wire::flag::tc) ||
                    ((flags >> 11) & 0xf) != 0 || wire::get16(h + 4) != 1;
  if (bad_header) return n;
  std::size_t qend = wire::skip_name(m, wire::header_size);
  if (qend == 0 || qend + 4 > m.size()) return n;

  rr_walk w;
  if (!walk_rrs(m, qend + 4, w)) return n;
  auto rc = static_cast<wire::rcode>(flags & 0xf);
  if (rc == wire::rcode::servfail) {
    n.what = normalised::kind::servfail;
    return n;
  }
  if (rc == wire::rcode::noerror && wire::get16(h + 6) > 0) {
    n.what = normalised::kind::positive;
    n.ttl = w.min_ttl;
  } else if ((rc == wire::rcode::noerror || rc == wire::rcode::nxdomain) &&
             w.negative_ttl != UINT32_MAX) {
    n.what = normalised::kind::negative;  // RFC 2308 5: min(SOA TTL, MINIMUM)
    n.ttl = w.negative_ttl;
  } else {
    return n;  // referrals, negative answers without SOA, REFUSED...: not cached
  }

  // Copy without the OPT record: a hit gets our own OPT, as local answers do.
  std::size_t cut = w.opt_end - w.opt_start;
  n.msg.reserve(m.size() - cut);
  n.msg.insert(n.msg.end(), m.begin(), m.begin() + (cut ? w.opt_start : m.size()));
  if (cut) {
    n.msg.insert(n.msg.end(), m.begin() + w.opt_end, m.end());
    wire::put16(n.msg.data() + 10, wire::get16(h + 10) - 1);
  }
  for (uint16_t off : w.ttls) {
    uint16_t o = (cut && off > w.opt_start) ? static_cast<uint16_t>(off - cut) : off;
    uint32_t ttl = std::min(sane_ttl(wire::get32(n.msg.data() + o)), max_ttl);
    wire::put32(n.msg.data() + o, ttl);
    n.ttls.push_back(o);
  }
  return n;
}

}  // namespace

// ------------------------------------------------------------------ key ---

key::key(view::view_id v, const wire::query& q) {
  uint8_t* b = buf_.data();
  wire::put16(b, v);
  wire::put16(b + 2, q.qtype);
  wire::put16(b + 4, q.qclass);
  b[6] = static_cast<uint8_t>((q.edns_do ? 1 : 0) | ((q.flags & wire::flag::cd) ? 2 : 0) |
                              ((q.flags & wire::flag::rd) ? 4 : 0));
  b[7] = 0;
  std::memcpy(b + 8, q.lname.data(), q.qname_len);
  len_ = static_cast<uint16_t>(8 + q.qname_len);
  hash_ = fnv1a(bytes());
}

bool key::operator==(const key& o) const {
  return len_ == o.len_ && std::memcmp(buf_.data(), o.buf_.data(), len_) == 0;
}

// ---------------------------------------------------------------- cache ---

uint16_t answer_cache::entry::ttl_offset(std::size_t i) const {
  const uint8_t* p = data.get() + key_len + msg_len + 2 * i;
  return wire::get16(p);
}

answer_cache::answer_cache(const settings& s) : cfg_(s) {
  index_.reserve(std::min<std::size_t>(cfg_.max_entries, 1024));
}

uint32_t answer_cache::find(const key& k) const {
  auto [lo, hi] = index_.equal_range(k.hash());
  for (auto it = lo; it != hi; ++it) {
    const entry& en = entries_[it->second];
    auto kb = en.key_bytes();
    if (kb.size() == k.bytes().size() && std::equal(kb.begin(), kb.end(), k.bytes().begin()))
      return it->second;
  }
  return no_entry;
}

void answer_cache::unlink(uint32_t e) {
  entry& en = entries_[e];
  (en.prev != no_entry ? entries_[en.prev].next : head_) = en.next;
  (en.next != no_entry ? entries_[en.next].prev : tail_) = en.prev;
  en.prev = en.next = no_entry;
}

void answer_cache::push_front(uint32_t e) {
  entry& en = entries_[e];
  en.prev = no_entry;
  en.next = head_;
  if (head_ != no_entry) entries_[head_].prev = e;
  head_ = e;
  if (tail_ == no_entry) tail_ = e;
}

void answer_cache::touch(uint32_t e) {
  if (head_ == e) return;
  unlink(e);
  push_front(e);
}

bool answer_cache::stale_usable(const entry& en, int64_t now_ms) const {
  return cfg_.serve_stale && en.msg_len > 0 &&
         now_ms < en.expires_ms + int64_t(max_stale_seconds) * 1000;
}

outcome answer_cache::lookup(const key& k, int64_t now_ms, uint32_t* entry_out) {
  uint32_t e = enabled() ? find(k) : no_entry;
  if (e != no_entry) {
    entry& en = entries_[e];
    if (en.msg_len > 0 && now_ms < en.expires_ms) {
      touch(e);
      ++stats_.hits;
      *entry_out = e;
      return outcome::fresh;
    }
    if (now_ms < en.failed_until_ms) {
      touch(e);
      if (stale_usable(en, now_ms)) {
        ++stats_.stale_hits;
        *entry_out = e;
        return outcome::stale;
      }
      ++stats_.failed_hits;
      return outcome::failed;
    }
  }
  ++stats_.misses;
  return outcome::miss;
}

// Finds the slot for `k`: its existing entry, a new one, or the least
// recently used one, evicted. The slot is unlinked from the LRU list.
uint32_t answer_cache::slot_for(const key& k, int64_t now_ms) {
  uint32_t e = find(k);
  if (e != no_entry) {
    unlink(e);
    return e;
  }
  if (entries_.size() < cfg_.max_entries) {
    entries_.emplace_back();
    e = static_cast<uint32_t>(entries_.size() - 1);
  } else {
    e = tail_;
    unlink(e);
    auto [lo, hi] = index_.equal_range(entries_[e].hash);
    for (auto it = lo; it != hi; ++it)
      if (it->second == e) {
        index_.erase(it);
        break;
      }
    ++stats_.evictions;
  }
  entry& en = entries_[e];
  en.hash = k.hash();
  en.key_len = static_cast<uint16_t>(k.bytes().size());
  en.msg_len = en.ttl_count = 0;
  en.failed_until_ms = 0;
  index_.emplace(k.hash(), e);
  return e;
}

uint32_t answer_cache::insert(const key& k, std::span<const uint8_t> answer, int64_t now_ms) {
  if (!enabled()) return no_entry;
  normalised n = normalise(answer, cfg_.max_ttl);
  if (n.what == normalised::kind::servfail) {
    fail(k, now_ms);
    return no_entry;
  }
  if (n.what == normalised::kind::uncacheable) {
    ++stats_.uncacheable;
    return no_entry;
  }
  uint32_t e = slot_for(k, now_ms);
  entry& en = entries_[e];
  std::size_t size = en.key_len + n.msg.size() + 2 * n.ttls.size();
  en.data = std::make_unique<uint8_t[]>(size);
  std::memcpy(en.data.get(), k.bytes().data(), en.key_len);
  std::memcpy(en.data.get() + en.key_len, n.msg.data(), n.msg.size());
  uint8_t* offs = en.data.get() + en.key_len + n.msg.size();
  for (std::size_t i = 0; i < n.ttls.size(); ++i) wire::put16(offs + 2 * i, n.ttls[i]);
  en.msg_len = static_cast<uint16_t>(n.msg.size());
  en.ttl_count = static_cast<uint16_t>(n.ttls.size());
  uint32_t ttl = std::clamp(n.ttl, cfg_.min_ttl, std::max(cfg_.min_ttl, cfg_.max_ttl));
  en.stored_ms = now_ms;
  en.expires_ms = now_ms + int64_t(ttl) * 1000;
  push_front(e);
  ++stats_.inserts;
  return e;
}

uint32_t answer_cache::fail(const key& k, int64_t now_ms) {
  if (!enabled() || cfg_.servfail_ttl == 0) return no_entry;
  uint32_t e = find(k);
  if (e == no_entry || !stale_usable(entries_[e], now_ms)) {
    // Nothing worth keeping: the slot holds the failure alone.
    e = slot_for(k, now_ms);
    entries_[e].data = std::make_unique<uint8_t[]>(entries_[e].key_len);
    std::memcpy(entries_[e].data.get(), k.bytes().data(), entries_[e].key_len);
  } else {
    unlink(e);
  }
  entries_[e].failed_until_ms = now_ms + int64_t(cfg_.servfail_ttl) * 1000;
  push_front(e);
  return stale_usable(entries_[e], now_ms) ? e : no_entry;
}

std::size_t answer_cache::render(uint32_t e, const wire::query& q,
                                 std::span<const uint8_t> client_pkt, std::span<uint8_t> out,
                                 std::size_t limit, uint16_t our_udp_size, int64_t now_ms,
                                 bool stale) const {
  const entry& en = entries_[e];
  uint8_t* o = out.data();
  std::size_t len = en.msg_len;
  std::memcpy(o, en.msg(), len);
  int64_t age = std::max<int64_t>(0, (now_ms - en.stored_ms) / 1000);
  int64_t left = std::max<int64_t>(0, (en.expires_ms - now_ms) / 1000);
  for (std::size_t i = 0; i < en.ttl_count; ++i) {
    uint8_t* t = o + en.ttl_offset(i);
    int64_t ttl = wire::get32(t);
    // Kept past its own TTL by min_ttl: serve what remains of the entry.
    ttl = stale ? cfg_.stale_ttl : (ttl > age ? ttl - age : left);
    wire::put32(t, static_cast<uint32_t>(ttl));
  }
  // The same rules as a fresh upstream answer: the client's ID and letter
  // case, our OPT when the client sent one, cut to `limit` by whole RRsets.
  return wire::relay_upstream_answer(out, len, q, client_pkt, limit, our_udp_size);
}

void answer_cache::flush() {
  entries_.clear();
  entries_.shrink_to_fit();
  index_.clear();
  head_ = tail_ = no_entry;
}

stats answer_cache::counters() const {
  stats s = stats_;
  s.entries = entries_.size();
  return s;
}

}  // namespace vpcedns::cache
