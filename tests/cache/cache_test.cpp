// The answer cache, with an injected clock; answers built and checked with ldns.
#include "cache/cache.hpp"
#include "support/dns.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace vpcedns;
using vpcedns::test::make_query;
using vpcedns::test::parse;
using vpcedns::test::query_opts;

namespace {

constexpr view::view_id vpc_view = 1;

struct answer_spec {
  ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
  std::vector<std::string> answer, authority;
  bool edns = false;  // the upstream adds its own OPT (udp 4096)
  bool tc = false;
};

// An upstream answer to `qname`/`type` as a resolver would send it.
std::vector<uint8_t> make_answer(const std::string& qname, ldns_rr_type type,
                                 const answer_spec& a) {
  ldns_pkt* p = nullptr;
  ldns_pkt_query_new_frm_str(&p, qname.c_str(), type, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(p, 0xbeef);
  ldns_pkt_set_qr(p, true);
  ldns_pkt_set_ra(p, true);
  ldns_pkt_set_tc(p, a.tc);
  ldns_pkt_set_rcode(p, a.rcode);
  auto add = [&](const std::vector<std::string>& rrs, ldns_pkt_section s) {
    for (const auto& text : rrs) {
      ldns_rr* rr = nullptr;
      REQUIRE(ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
      ldns_pkt_push_rr(p, s, rr);
    }
  };
  add(a.answer, LDNS_SECTION_ANSWER);
  add(a.authority, LDNS_SECTION_AUTHORITY);
  if (a.edns) ldns_pkt_set_edns_udp_size(p, 4096);
  uint8_t* wire = nullptr;
  size_t len = 0;
  ldns_pkt2wire(&wire, p, &len);
  std::vector<uint8_t> out(wire, wire + len);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

// A client query, parsed as the server parses it.
struct client {
  std::vector<uint8_t> pkt;
  wire::query q;
  client(const std::string& name, ldns_rr_type type, query_opts o = {}) {
    pkt = make_query(name, type, o);
    REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  }
  cache::key key(view::view_id v = view::outside) const { return cache::key(v, q); }
};

struct rendered {
  std::vector<uint8_t> buf = std::vector<uint8_t>(wire::max_message);
  std::size_t size = 0;
  test::pkt_ptr pkt;
};

rendered render(const cache::answer_cache& c, uint32_t e, const client& cl, int64_t now,
                bool stale = false, std::size_t limit = wire::max_message) {
  rendered r;
  r.size = c.render(e, cl.q, cl.pkt, r.buf, limit, 1232, now, stale);
  r.pkt = parse(r.buf.data(), r.size);
  REQUIRE(r.pkt);
  return r;
}

std::vector<uint32_t> answer_ttls(const rendered& r) {
  std::vector<uint32_t> out;
  ldns_rr_list* l = ldns_pkt_answer(r.pkt.get());
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i)
    out.push_back(ldns_rr_ttl(ldns_rr_list_rr(l, i)));
  return out;
}

const answer_spec www_a{
    LDNS_RCODE_NOERROR,
    {"www.example.test. 300 IN A 198.51.100.7", "www.example.test. 200 IN A 198.51.100.8"},
    {}};
const std::string soa = ". 300 IN SOA ns.root.test. host.root.test. 1 7200 900 1209600 60";

cache::settings small(std::size_t n = 100) {
  cache::settings s;
  s.max_entries = n;
  return s;
}

}  // namespace

TEST_CASE("cache: a hit carries the client's ID and letter case, TTLs counted down") {
  cache::answer_cache c(small());
  client first("www.example.test.", LDNS_RR_TYPE_A);
  CHECK(c.insert(first.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, www_a), 1000) !=
        cache::answer_cache::no_entry);

  client again("WwW.ExAmple.TEST.", LDNS_RR_TYPE_A, {.id = 0x4242});
  uint32_t e = 0;
  REQUIRE(c.lookup(again.key(), 11'500, &e) == cache::outcome::fresh);
  rendered r = render(c, e, again, 11'500);
  CHECK(ldns_pkt_id(r.pkt.get()) == 0x4242);
  CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_qr(r.pkt.get()));
  // The question bytes are the client's, byte for byte.
  CHECK(std::equal(again.pkt.begin() + 12, again.pkt.begin() + again.q.question_end,
                   r.buf.begin() + 12));
  auto ttls = answer_ttls(r);
  std::sort(ttls.begin(), ttls.end());
  CHECK(ttls == std::vector<uint32_t>{190, 290});  // 10.5 s later, whole seconds
  CHECK(test::rdata_of(ldns_pkt_answer(r.pkt.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"198.51.100.7", "198.51.100.8"});
}

TEST_CASE("cache: an entry lives as long as its smallest TTL") {
  cache::answer_cache c(small());
  client cl("www.example.test.", LDNS_RR_TYPE_A);
  c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, www_a), 0);
  uint32_t e = 0;
  CHECK(c.lookup(cl.key(), 199'999, &e) == cache::outcome::fresh);
  CHECK(c.lookup(cl.key(), 200'000, &e) == cache::outcome::miss);
  auto s = c.counters();
  CHECK(s.hits == 1);
  CHECK(s.misses == 1);
}

TEST_CASE("cache: views, types, DO and CD bits are separate keys") {
  cache::answer_cache c(small());
  client cl("www.example.test.", LDNS_RR_TYPE_A);
  c.insert(cl.key(view::outside), make_answer("www.example.test.", LDNS_RR_TYPE_A, www_a), 0);
  uint32_t e = 0;
  CHECK(c.lookup(cl.key(view::outside), 1000, &e) == cache::outcome::fresh);
  CHECK(c.lookup(cl.key(vpc_view), 1000, &e) == cache::outcome::miss);
  client aaaa("www.example.test.", LDNS_RR_TYPE_AAAA);
  CHECK(c.lookup(aaaa.key(), 1000, &e) == cache::outcome::miss);
  client dnssec("www.example.test.", LDNS_RR_TYPE_A, {.edns = true, .do_bit = true});
  CHECK(c.lookup(dnssec.key(), 1000, &e) == cache::outcome::miss);
  client edns("www.example.test.", LDNS_RR_TYPE_A, {.edns = true});
  CHECK(c.lookup(edns.key(), 1000, &e) == cache::outcome::fresh);  // EDNS alone: same answer
  client cd("www.example.test.", LDNS_RR_TYPE_A);
  wire::put16(cd.pkt.data() + 2, wire::get16(cd.pkt.data() + 2) | wire::flag::cd);
  REQUIRE(wire::parse_query(cd.pkt, cd.q) == wire::parse_status::ok);
  CHECK(c.lookup(cd.key(), 1000, &e) == cache::outcome::miss);
  CHECK(cache::key(view::outside, cl.q) == cache::key(view::outside, edns.q));
}

TEST_CASE("cache: the upstream's OPT is replaced by the client's EDNS echo") {
  cache::answer_cache c(small());
  client cl("www.example.test.", LDNS_RR_TYPE_A, {.edns = true});
  answer_spec a = www_a;
  a.edns = true;
  uint32_t e = c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, a), 0);
  REQUIRE(e != cache::answer_cache::no_entry);

  client plain("www.example.test.", LDNS_RR_TYPE_A);
  rendered r = render(c, e, plain, 0);
  CHECK(ldns_pkt_edns_udp_size(r.pkt.get()) == 0);  // no OPT for a client without EDNS
  CHECK(ldns_pkt_arcount(r.pkt.get()) == 0);

  rendered r2 = render(c, e, cl, 0);
  CHECK(ldns_pkt_edns(r2.pkt.get()));
  CHECK(ldns_pkt_edns_udp_size(r2.pkt.get()) == 1232);  // ours, not the upstream's 4096
  CHECK(ldns_pkt_ancount(r2.pkt.get()) == 2);
}

TEST_CASE("cache: a hit larger than the client's UDP size is truncated with TC") {
  cache::answer_cache c(small());
  answer_spec big;
  for (int i = 0; i < 40; ++i)
    big.answer.push_back("many.big.example.test. 300 IN A 198.51.100." + std::to_string(i));
  client cl("many.big.example.test.", LDNS_RR_TYPE_A, {.edns = true, .udp_size = 512});
  uint32_t e = c.insert(cl.key(), make_answer("many.big.example.test.", LDNS_RR_TYPE_A, big), 0);
  REQUIRE(e != cache::answer_cache::no_entry);

  rendered small_r = render(c, e, cl, 0, false, cl.q.udp_limit(1232));
  CHECK(small_r.size <= 512);
  CHECK(ldns_pkt_tc(small_r.pkt.get()));
  CHECK(ldns_pkt_ancount(small_r.pkt.get()) == 0);
  CHECK(ldns_pkt_qdcount(small_r.pkt.get()) == 1);
  CHECK(ldns_pkt_edns(small_r.pkt.get()));

  rendered tcp = render(c, e, cl, 0);  // TCP: the whole answer
  CHECK_FALSE(ldns_pkt_tc(tcp.pkt.get()));
  CHECK(ldns_pkt_ancount(tcp.pkt.get()) == 40);
}

TEST_CASE("cache: negative answers live min(SOA TTL, MINIMUM) (RFC 2308)") {
  cache::answer_cache c(small());
  client nx("nope.example.test.", LDNS_RR_TYPE_A);
  answer_spec a{LDNS_RCODE_NXDOMAIN, {}, {soa}};
  uint32_t e = c.insert(nx.key(), make_answer("nope.example.test.", LDNS_RR_TYPE_A, a), 0);
  REQUIRE(e != cache::answer_cache::no_entry);
  CHECK(c.lookup(nx.key(), 59'000, &e) == cache::outcome::fresh);
  rendered r = render(c, e, nx, 59'000);
  CHECK(ldns_pkt_get_rcode(r.pkt.get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_nscount(r.pkt.get()) == 1);
  CHECK(c.lookup(nx.key(), 60'000, &e) == cache::outcome::miss);

  client nodata("www.example.test.", LDNS_RR_TYPE_TXT);
  answer_spec nd{LDNS_RCODE_NOERROR, {}, {". 30 IN SOA a. b. 1 2 3 4 600"}};
  CHECK(c.insert(nodata.key(), make_answer("www.example.test.", LDNS_RR_TYPE_TXT, nd), 0) !=
        cache::answer_cache::no_entry);
  CHECK(c.lookup(nodata.key(), 29'000, &e) == cache::outcome::fresh);
  CHECK(c.lookup(nodata.key(), 30'000, &e) == cache::outcome::miss);

  client bare("bare.example.test.", LDNS_RR_TYPE_A);
  answer_spec no_soa{LDNS_RCODE_NXDOMAIN, {}, {}};
  CHECK(c.insert(bare.key(), make_answer("bare.example.test.", LDNS_RR_TYPE_A, no_soa), 0) ==
        cache::answer_cache::no_entry);  // RFC 2308 5: no SOA, no negative caching
  CHECK(c.lookup(bare.key(), 0, &e) == cache::outcome::miss);
}

TEST_CASE("cache: SERVFAIL and upstream failures are remembered for servfail_ttl") {
  cache::settings s = small();
  s.servfail_ttl = 3;
  cache::answer_cache c(s);
  client cl("broken.example.test.", LDNS_RR_TYPE_A);
  answer_spec sf{LDNS_RCODE_SERVFAIL, {}, {}};
  CHECK(c.insert(cl.key(), make_answer("broken.example.test.", LDNS_RR_TYPE_A, sf), 0) ==
        cache::answer_cache::no_entry);
  uint32_t e = 0;
  CHECK(c.lookup(cl.key(), 2'999, &e) == cache::outcome::failed);
  CHECK(c.lookup(cl.key(), 3'000, &e) == cache::outcome::miss);

  client other("timeout.example.test.", LDNS_RR_TYPE_A);
  CHECK(c.fail(other.key(), 10'000) == cache::answer_cache::no_entry);
  CHECK(c.lookup(other.key(), 12'000, &e) == cache::outcome::failed);
  CHECK(c.lookup(other.key(), 13'000, &e) == cache::outcome::miss);

  s.servfail_ttl = 0;
  cache::answer_cache off(s);
  off.fail(other.key(), 0);
  CHECK(off.lookup(other.key(), 0, &e) == cache::outcome::miss);
}

TEST_CASE("cache: serve-stale (RFC 8767) only when enabled and the upstream failed") {
  for (bool stale_on : {false, true}) {
    CAPTURE(stale_on);
    cache::settings s = small();
    s.serve_stale = stale_on;
    cache::answer_cache c(s);
    client cl("www.example.test.", LDNS_RR_TYPE_A);
    c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, www_a), 0);
    uint32_t e = 0;
    // Expired: forward first (never stale while the upstream may answer).
    CHECK(c.lookup(cl.key(), 250'000, &e) == cache::outcome::miss);
    uint32_t st = c.fail(cl.key(), 250'000);
    if (!stale_on) {
      CHECK(st == cache::answer_cache::no_entry);
      CHECK(c.lookup(cl.key(), 251'000, &e) == cache::outcome::failed);
      continue;
    }
    REQUIRE(st != cache::answer_cache::no_entry);
    rendered r = render(c, st, cl, 250'000, true);
    CHECK(answer_ttls(r) == std::vector<uint32_t>{30, 30});
    CHECK(c.lookup(cl.key(), 251'000, &e) == cache::outcome::stale);
    CHECK(c.counters().stale_hits == 1);
    // After the failure window, the upstream is tried again.
    CHECK(c.lookup(cl.key(), 256'000, &e) == cache::outcome::miss);
    // Too old to serve even stale.
    int64_t too_old = 200'000 + int64_t(cache::max_stale_seconds) * 1000;
    CHECK(c.fail(cl.key(), too_old) == cache::answer_cache::no_entry);
    CHECK(c.lookup(cl.key(), too_old, &e) == cache::outcome::failed);
  }
}

TEST_CASE("cache: max_ttl caps served TTLs, min_ttl keeps short answers longer") {
  cache::settings s = small();
  s.max_ttl = 100;
  s.min_ttl = 250;
  s.max_ttl = 260;
  cache::answer_cache c(s);
  client cl("www.example.test.", LDNS_RR_TYPE_A);
  answer_spec a{
      LDNS_RCODE_NOERROR,
      {"www.example.test. 999999 IN A 198.51.100.7", "www.example.test. 20 IN A 198.51.100.8"},
      {}};
  uint32_t e = c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, a), 0);
  rendered r = render(c, e, cl, 0);
  auto ttls = answer_ttls(r);
  std::sort(ttls.begin(), ttls.end());
  CHECK(ttls == std::vector<uint32_t>{20, 260});
  CHECK(c.lookup(cl.key(), 249'000, &e) == cache::outcome::fresh);  // kept for min_ttl
  r = render(c, e, cl, 249'000);
  ttls = answer_ttls(r);
  std::sort(ttls.begin(), ttls.end());
  CHECK(ttls == std::vector<uint32_t>{1, 11});  // past its own TTL: what the entry has left
  CHECK(c.lookup(cl.key(), 250'000, &e) == cache::outcome::miss);
}

TEST_CASE("cache: bounded, least recently used evicted, flush empties it") {
  cache::answer_cache c(small(100));
  uint32_t e = 0;
  client keep("keep.example.test.", LDNS_RR_TYPE_A);
  answer_spec k{LDNS_RCODE_NOERROR, {"keep.example.test. 300 IN A 192.0.2.1"}, {}};
  c.insert(keep.key(), make_answer("keep.example.test.", LDNS_RR_TYPE_A, k), 0);
  for (int i = 0; i < 1000; ++i) {
    std::string name = "n" + std::to_string(i) + ".miss.test.";
    client cl(name, LDNS_RR_TYPE_A);
    answer_spec a{LDNS_RCODE_NOERROR, {name + " 300 IN A 198.51.100.1"}, {}};
    REQUIRE(c.insert(cl.key(), make_answer(name, LDNS_RR_TYPE_A, a), i) !=
            cache::answer_cache::no_entry);
    if (i % 50 == 0) CHECK(c.lookup(keep.key(), i, &e) == cache::outcome::fresh);
  }
  auto s = c.counters();
  CHECK(s.entries == 100);
  CHECK(s.evictions == 901);
  CHECK(c.lookup(keep.key(), 1000, &e) == cache::outcome::fresh);  // recently used: kept
  client old("n0.miss.test.", LDNS_RR_TYPE_A);
  CHECK(c.lookup(old.key(), 1000, &e) == cache::outcome::miss);
  client recent("n999.miss.test.", LDNS_RR_TYPE_A);
  CHECK(c.lookup(recent.key(), 1000, &e) == cache::outcome::fresh);

  c.flush();
  CHECK(c.counters().entries == 0);
  CHECK(c.lookup(recent.key(), 1000, &e) == cache::outcome::miss);

  cache::answer_cache off(small(0));
  CHECK_FALSE(off.enabled());
  CHECK(off.insert(keep.key(), make_answer("keep.example.test.", LDNS_RR_TYPE_A, k), 0) ==
        cache::answer_cache::no_entry);
  CHECK(off.lookup(keep.key(), 0, &e) == cache::outcome::miss);
}

TEST_CASE("cache: truncated, malformed and odd upstream answers are not kept") {
  cache::answer_cache c(small());
  client cl("www.example.test.", LDNS_RR_TYPE_A);
  answer_spec tc = www_a;
  tc.tc = true;
  CHECK(c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, tc), 0) ==
        cache::answer_cache::no_entry);
  answer_spec refused{LDNS_RCODE_REFUSED, {}, {}};
  CHECK(c.insert(cl.key(), make_answer("www.example.test.", LDNS_RR_TYPE_A, refused), 0) ==
        cache::answer_cache::no_entry);
  // Every prefix of a good answer, and a corrupted RR count: never kept, never a crash.
  auto good = make_answer("www.example.test.", LDNS_RR_TYPE_A, www_a);
  for (std::size_t n = 0; n < good.size(); ++n)
    CHECK(c.insert(cl.key(), std::span(good.data(), n), 0) == cache::answer_cache::no_entry);
  auto bad = good;
  wire::put16(bad.data() + 6, 3);
  CHECK(c.insert(cl.key(), bad, 0) == cache::answer_cache::no_entry);
  uint32_t e = 0;
  CHECK(c.lookup(cl.key(), 0, &e) == cache::outcome::miss);
  CHECK(c.counters().uncacheable >= good.size());
}
